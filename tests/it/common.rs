//! Helpers shared by the end-to-end tests: the kiln binary, the mini distro, compose folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The mini distro fixture (built once per target dir by xtask's generator, then cached).
pub fn mini() -> xtask::fixtures::MiniDistro {
    xtask::fixtures::mini_distro_cached().expect("building the mini distro fixture")
}

/// Whether a peer tool is installed. A developer without it gets a skipped check; CI installs
/// every one of them (`.ci/run`), so there a missing tool fails the test instead of hiding it.
pub fn have(tool: &str) -> bool {
    let found = kiln_engine::find_on_path(tool).is_some();
    assert!(
        found || std::env::var_os("CI").is_none(),
        "{tool} is not installed, but CI must run every peer check: install it in .ci/run"
    );
    found
}

/// A fixed compose date, so two runs make the same compose ID and the same bytes.
pub const EPOCH: &str = "1795219200";

/// The kiln binary with the fixed compose date, run in `cwd`.
pub fn kiln_command(args: &[&str], cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
    cmd.args(args)
        .current_dir(cwd)
        .env("SOURCE_DATE_EPOCH", EPOCH)
        .env_remove("KILN_FAILPOINT");
    cmd
}

pub fn kiln(args: &[&str], cwd: &Path) -> Output {
    kiln_command(args, cwd).output().expect("running kiln")
}

/// `kiln compose CONFIG --target-dir t --no-label EXTRA...` in `dir`.
pub fn compose_args<'a>(cfg: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "compose",
        cfg.to_str().expect("utf-8 path"),
        "--target-dir",
        "t",
        "--no-label",
    ];
    args.extend_from_slice(extra);
    args
}

pub fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The mini example config, pointed at the fixture, written into `dir`.
pub fn mini_config(dir: &Path, extra: &str) -> PathBuf {
    let m = mini();
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/mini/kiln.yaml"),
    )
    .expect("reading the example config");
    let root = m.repo.parent().expect("fixture root").to_owned();
    let config = example.replace("input/mini", &root.to_string_lossy());
    std::fs::create_dir_all(dir.join("extra")).expect("mkdir");
    for name in ["GPL", "README.mini"] {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples/mini/extra")
                .join(name),
            dir.join("extra").join(name),
        )
        .expect("copy an extra file");
    }
    let path = dir.join("kiln.yaml");
    std::fs::write(&path, format!("{config}\n{extra}")).expect("write config");
    path
}

/// Every file under `root` with its bytes, sorted by path (symlinks as their target).
pub fn files(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let rel = p
            .strip_prefix(root)
            .unwrap_or(&p)
            .to_string_lossy()
            .into_owned();
        let ft = e.file_type().expect("file type");
        if ft.is_symlink() {
            let target = std::fs::read_link(&p).expect("readlink");
            out.push((rel, target.to_string_lossy().as_bytes().to_vec()));
        } else if ft.is_dir() {
            walk(root, &p, out);
        } else {
            out.push((rel, std::fs::read(&p).expect("read")));
        }
    }
}

/// The single compose folder under a target dir.
pub fn compose_dir(target: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(target)
        .expect("target dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.is_symlink())
        .collect();
    dirs.sort();
    dirs.pop().expect("a compose folder")
}

/// A 1440 KiB FAT image at `img` holding `files` (path inside, bytes) under `EFI/BOOT/`, as
/// lorax's `images/efiboot.img`; a fixed serial and dates, so two fixtures are the same bytes.
pub fn esp_image(img: &Path, files: &[(&str, &[u8])]) {
    std::fs::write(img, vec![0u8; 1440 * 1024]).expect("write the image");
    let i = img.to_str().expect("utf-8 path");
    let mtools = |args: &[&str]| {
        let st = Command::new(args[0])
            .args(&args[1..])
            .env("SOURCE_DATE_EPOCH", EPOCH)
            .status()
            .expect("running mtools");
        assert!(st.success(), "{args:?}");
    };
    mtools(&["mformat", "-i", i, "-f", "1440", "-N", "4b494c4e", "::"]);
    mtools(&["mmd", "-i", i, "::/EFI", "::/EFI/BOOT"]);
    let scratch = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in files {
        let f = scratch.path().join(name);
        std::fs::write(&f, bytes).expect("write a file for the image");
        mtools(&[
            "mcopy",
            "-i",
            i,
            f.to_str().expect("utf-8"),
            &format!("::/EFI/BOOT/{name}"),
        ]);
    }
}

/// Runs a peer tool that must succeed; its stdout.
pub fn run_ok(cmd: &mut Command) -> Vec<u8> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `compose/metadata/<name>` of the compose at `top`, parsed.
pub fn metadata(top: &Path, name: &str) -> serde_json::Value {
    let path = top.join("compose/metadata").join(name);
    serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// images.json as the productmd library loads it (a judge no one here wrote): one line
/// `variant arch type format path` per image, sorted; None where productmd is not installed
/// (CI installs it, so there its absence fails).
pub fn productmd_images(images_json: &Path) -> Option<Vec<String>> {
    let script = r#"
import sys, productmd.images
im = productmd.images.Images(); im.load(sys.argv[1])
for v, arches in im.images.items():
    for a, images in arches.items():
        for i in images:
            print(v, a, i.type, i.format, i.path)
"#;
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(images_json)
        .output()
        .expect("running python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() && stderr.contains("No module named 'productmd'") {
        assert!(
            std::env::var_os("CI").is_none(),
            "productmd is not installed, but CI must run every peer check"
        );
        return None;
    }
    assert!(
        out.status.success(),
        "productmd refuses {}: {stderr}",
        images_json.display()
    );
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    Some(lines)
}

/// Every log file of the compose at `top`, one after another: what a release engineer greps.
pub fn logs(top: &Path) -> String {
    files(&top.join("logs"))
        .into_iter()
        .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned())
        .collect()
}
