//! Shaping an installed root as rpm-ostree commits it: the treefile's units enabled and
//! `remove-files` removed, `/etc` moved to `/usr/etc` (ostree merges it at deploy time), the rpm
//! database moved to `/usr/share/rpm`, and `/var`, `/tmp`, `/run` and `/dev` emptied (a deployed
//! system makes them; ostree cannot hold device nodes).

use std::path::{Component, Path};

use crate::Treefile;

fn rel(path: &str) -> Result<&Path, String> {
    let p = Path::new(path.trim_start_matches('/'));
    if p.as_os_str().is_empty() || p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return Err(format!("{path:?} is not a path inside the tree"));
    }
    Ok(p)
}

fn io(what: &str, p: &Path, e: std::io::Error) -> String {
    format!("cannot {what} {}: {e}", p.display())
}

fn remove(p: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p).map_err(|e| io("remove", p, e)),
        Ok(_) => std::fs::remove_file(p).map_err(|e| io("remove", p, e)),
        Err(_) => Ok(()),
    }
}

fn empty(dir: &Path) -> Result<(), String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in rd.flatten() {
        remove(&e.path())?;
    }
    Ok(())
}

pub fn shape(root: &Path, tree: &Treefile) -> Result<(), String> {
    for unit in &tree.units {
        let wants = root.join("etc/systemd/system/multi-user.target.wants");
        std::fs::create_dir_all(&wants).map_err(|e| io("create", &wants, e))?;
        let link = wants.join(rel(unit)?);
        remove(&link)?;
        std::os::unix::fs::symlink(format!("/usr/lib/systemd/system/{unit}"), &link)
            .map_err(|e| io("link", &link, e))?;
    }
    for f in &tree.remove_files {
        remove(&root.join(rel(f)?))?;
    }
    let etc = root.join("etc");
    if etc.is_dir() {
        let usr_etc = root.join("usr/etc");
        if usr_etc.exists() {
            return Err(format!(
                "{} exists already: a package ships /usr/etc",
                usr_etc.display()
            ));
        }
        std::fs::create_dir_all(root.join("usr"))
            .map_err(|e| io("create", &root.join("usr"), e))?;
        std::fs::rename(&etc, &usr_etc).map_err(|e| io("move", &etc, e))?;
    }
    // Where the host's rpm put the database (Debian's rpm uses ~/.rpmdb, which dnf resolves
    // inside the installroot), into rpm-ostree's place for it.
    let db = root.join("usr/share/rpm");
    for candidate in ["usr/lib/sysimage/rpm", "var/lib/rpm", "root/.rpmdb"] {
        let c = root.join(candidate);
        let has_files = std::fs::read_dir(&c).is_ok_and(|mut d| d.next().is_some());
        if has_files && !db.exists() {
            std::fs::create_dir_all(root.join("usr/share"))
                .map_err(|e| io("create", &root.join("usr/share"), e))?;
            std::fs::rename(&c, &db).map_err(|e| io("move", &c, e))?;
        } else {
            remove(&c)?;
        }
    }
    if !db.exists() {
        return Err("the install left no rpm database".into());
    }
    // Run-time files of the database: a lock and sqlite's shared memory index, rebuilt on open.
    for f in [".rpm.lock", "rpmdb.sqlite-shm", ".dbenv.lock"] {
        remove(&db.join(f))?;
    }
    for dir in ["var", "tmp", "run", "dev"] {
        empty(&root.join(dir))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_root_is_shaped_as_rpm_ostree_commits_it() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in [
            "etc",
            "root/.rpmdb",
            "usr/share/doc/x",
            "var/cache/dnf",
            "dev",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("etc/os-release"), "ID=mini\n").unwrap();
        std::fs::write(root.join("root/.rpmdb/rpmdb.sqlite"), "db").unwrap();
        std::fs::write(root.join("var/cache/dnf/x"), "").unwrap();
        let tree = Treefile {
            units: vec!["mini.service".into()],
            remove_files: vec!["/usr/share/doc".into()],
            ..Treefile::default()
        };
        shape(root, &tree).unwrap();
        assert!(root.join("usr/etc/os-release").is_file());
        assert!(!root.join("etc").exists());
        assert!(root.join("usr/share/rpm/rpmdb.sqlite").is_file());
        assert!(!root.join("root/.rpmdb").exists());
        assert!(!root.join("usr/share/doc").exists());
        assert_eq!(std::fs::read_dir(root.join("var")).unwrap().count(), 0);
        let link = root.join("usr/etc/systemd/system/multi-user.target.wants/mini.service");
        assert_eq!(
            std::fs::read_link(link).unwrap(),
            Path::new("/usr/lib/systemd/system/mini.service")
        );
        let bad = Treefile {
            remove_files: vec!["../outside".into()],
            ..Treefile::default()
        };
        assert!(shape(root, &bad).unwrap_err().contains("not a path inside"));
    }
}
