//! Where a run happens: a kind cluster it creates (the default), or an existing cluster it
//! was explicitly allowed to use.

pub mod existing;
pub mod kind;
