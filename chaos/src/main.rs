fn main() {
    println!("backstop-chaos: not built yet");
}
