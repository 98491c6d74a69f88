//! `notification_script`: pungi's messages (status-change, phase-start, phase-stop, ...) with
//! JSON on stdin. A failing script is a warning, never a failed compose.

use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::cancel::CancelToken;
use crate::runner::{CommandSpec, Runner};

pub struct Notifier {
    scripts: Vec<String>,
    base: Value,
    log_dir: PathBuf,
    seq: Mutex<u32>,
}

impl Notifier {
    pub fn new(scripts: Vec<String>, base: Value, log_dir: PathBuf) -> Self {
        Notifier {
            scripts,
            base,
            log_dir,
            seq: Mutex::new(0),
        }
    }

    /// Runs every script with `message` as its argument and the payload on stdin.
    pub fn send(&self, runner: &dyn Runner, message: &str, extra: Value) {
        if self.scripts.is_empty() {
            return;
        }
        let mut payload = self.base.clone();
        if let (Some(p), Some(e)) = (payload.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                p.insert(k.clone(), v.clone());
            }
        }
        let stdin = serde_json::to_vec(&payload).unwrap_or_default();
        // Scripts are serialised, as in pungi: they are told about one event at a time.
        let Ok(mut seq) = self.seq.lock() else { return };
        for script in &self.scripts {
            *seq += 1;
            let log = self
                .log_dir
                .join(format!("notification-{:04}-{message}.log", *seq));
            let mut spec = CommandSpec::new(script.as_str()).arg(message);
            spec.stdin = Some(stdin.clone());
            match runner.run(&spec, &log, &CancelToken::new()) {
                Ok(out) if out.success() => {}
                Ok(out) => tracing::warn!(
                    "notification script {script} exited with {:?} for {message}",
                    out.code
                ),
                Err(e) => tracing::warn!("notification script {script}: {e}"),
            }
        }
    }
}

pub(crate) fn base_payload(compose: &kiln_compose::Compose) -> Value {
    let info = &compose.info;
    let r = &info.release;
    let mut v = json!({
        "compose_id": info.id,
        "compose_date": info.date,
        "compose_type": info.compose_type.as_str(),
        "compose_respin": info.respin,
        "compose_label": info.label,
        "compose_path": compose.paths.topdir(),
        "location": compose.paths.compose_dir(),
        "release_short": r.short,
        "release_name": r.name,
        "release_version": r.version,
        "release_type": r.release_type,
        "release_is_layered": r.base_product.is_some(),
    });
    if let (Some(bp), Some(obj)) = (&r.base_product, v.as_object_mut()) {
        obj.insert("base_product_name".into(), json!(bp.name));
        obj.insert("base_product_short".into(), json!(bp.short));
        obj.insert("base_product_version".into(), json!(bp.version));
        obj.insert("base_product_type".into(), json!(bp.release_type));
    }
    v
}
