//! Runs the end-to-end `kiln createrepo` tests of tests/it/createrepo.rs against the
//! standalone `kiln-createrepo` example (built from crates/cli/createrepo.rs, the same
//! module the `kiln createrepo` subcommand uses), so they run without building every phase.

mod common {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    pub fn mini() -> xtask::fixtures::MiniDistro {
        xtask::fixtures::mini_distro_cached().expect("building the mini distro fixture")
    }

    /// target/<profile>/examples/kiln-createrepo, next to this test's deps/ folder.
    fn bin() -> PathBuf {
        let exe = std::env::current_exe().expect("test path");
        let profile = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>");
        profile.join("examples/kiln-createrepo")
    }

    /// `args[0]` is the subcommand name (`createrepo`), as for the kiln binary.
    pub fn kiln(args: &[&str], cwd: &Path) -> Output {
        Command::new(bin())
            .args(&args[1..])
            .current_dir(cwd)
            .env("SOURCE_DATE_EPOCH", "1795219200")
            .output()
            .expect("running kiln-createrepo")
    }

    pub fn text(o: &Output) -> String {
        format!(
            "status {:?}\nstdout:\n{}\nstderr:\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    }
}

#[path = "../../../tests/it/createrepo.rs"]
mod createrepo;
