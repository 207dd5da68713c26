//! `backstop-chaos`: see `backstop-chaos --help` and `docs/chaos.md`.
fn main() -> std::process::ExitCode {
    backstop_chaos::command::main(std::env::args_os())
}
