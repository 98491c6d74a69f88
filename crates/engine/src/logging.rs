//! Per-phase log files from `tracing`.
//!
//! The executor runs each phase inside a span that carries the path of its log
//! (`logs/global/<phase>.global.log`) and of the compose's main log. [`PhaseLogLayer`] writes every
//! event under such a span to both files. Because the paths travel with the span, several composes
//! in one process (as in tests) never mix their logs.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Where a span's events go.
#[derive(Debug, Clone)]
pub struct LogSink {
    pub phase: String,
    pub phase_log: PathBuf,
    pub main_log: PathBuf,
}

/// An arch span inside a phase: its events also go to `logs/<arch>/<phase>.<arch>.log`.
#[derive(Debug, Clone)]
struct ArchSink(PathBuf);

/// Writes log lines through a buffer per file: a phase that logs thousands of lines (gather's
/// unresolved dependencies) made a system call per line and file, on its critical path. What is
/// buffered reaches the file when a phase or arch span ends and, for a person following a
/// long-running phase's log, within [`FLUSH_EVERY`] by a thread of the layer's own.
pub struct PhaseLogLayer {
    files: Arc<Mutex<OpenLogs>>,
}

#[derive(Default)]
struct OpenLogs {
    files: HashMap<PathBuf, BufWriter<File>>,
    /// Whether a buffer may hold lines not written yet.
    dirty: bool,
}

impl OpenLogs {
    fn flush(&mut self) {
        if std::mem::take(&mut self.dirty) {
            for f in self.files.values_mut() {
                let _ = f.flush();
            }
        }
    }
}

/// How long a log line may wait in its buffer.
const FLUSH_EVERY: Duration = Duration::from_millis(200);

impl Default for PhaseLogLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl PhaseLogLayer {
    pub fn new() -> Self {
        let files = Arc::new(Mutex::new(OpenLogs::default()));
        let weak: Weak<Mutex<OpenLogs>> = Arc::downgrade(&files);
        // Ends with the layer (the next tick finds it gone).
        let _ = std::thread::Builder::new()
            .name("kiln-log-flush".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(FLUSH_EVERY);
                    let Some(files) = weak.upgrade() else { break };
                    if let Ok(mut f) = files.lock() {
                        f.flush();
                    }
                }
            });
        PhaseLogLayer { files }
    }

    fn append(&self, path: &Path, line: &str) {
        let Ok(mut logs) = self.files.lock() else {
            return;
        };
        if !logs.files.contains_key(path) {
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(f) => {
                    logs.files.insert(path.to_owned(), BufWriter::new(f));
                }
                Err(_) => return,
            }
        }
        if let Some(f) = logs.files.get_mut(path) {
            let _ = f.write_all(line.as_bytes());
            logs.dirty = true;
        }
    }

    /// Writes every buffered line out.
    pub fn flush(&self) {
        if let Ok(mut logs) = self.files.lock() {
            logs.flush();
        }
    }
}

impl Drop for PhaseLogLayer {
    fn drop(&mut self) {
        self.flush();
    }
}

#[derive(Default)]
struct SinkFields {
    phase: Option<String>,
    phase_log: Option<String>,
    main_log: Option<String>,
    arch_log: Option<String>,
}

impl Visit for SinkFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "phase" => self.phase = Some(value.to_owned()),
            "phase_log" => self.phase_log = Some(value.to_owned()),
            "main_log" => self.main_log = Some(value.to_owned()),
            "arch_log" => self.arch_log = Some(value.to_owned()),
            _ => {}
        }
    }
    // Paths arrive as `%path.display()`, which tracing records through Debug (showing Display).
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0 = value.to_owned();
        } else {
            self.0.push_str(&format!(" {}={value}", field.name()));
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        } else {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
    }
}

impl<S> tracing_subscriber::Layer<S> for PhaseLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut f = SinkFields::default();
        attrs.record(&mut f);
        let Some(span) = ctx.span(id) else { return };
        if let Some(al) = f.arch_log {
            span.extensions_mut().insert(ArchSink(al.into()));
        }
        if let (Some(phase), Some(pl), Some(ml)) = (f.phase, f.phase_log, f.main_log) {
            span.extensions_mut().insert(LogSink {
                phase,
                phase_log: pl.into(),
                main_log: ml.into(),
            });
        }
    }

    /// A phase or an arch of it is over: its lines are in its files before anyone reads them.
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let ext = span.extensions();
        if ext.get::<LogSink>().is_some() || ext.get::<ArchSink>().is_some() {
            drop(ext);
            self.flush();
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let mut sink = None;
        let mut arch = None;
        for span in scope {
            let ext = span.extensions();
            if arch.is_none() {
                arch = ext.get::<ArchSink>().cloned();
            }
            if let Some(s) = ext.get::<LogSink>() {
                sink = Some(s.clone());
                break;
            }
        }
        let Some(sink) = sink else { return };
        let mut msg = Message::default();
        event.record(&mut msg);
        let now = log_time(time::OffsetDateTime::now_utc());
        let level = event.metadata().level();
        let line = format!("{now} [{:<12}] [{level:<5}] {}\n", sink.phase, msg.0);
        self.append(&sink.phase_log, &line);
        self.append(&sink.main_log, &line);
        if let Some(ArchSink(path)) = arch {
            self.append(&path, &line);
        }
    }
}

/// A log line's time, UTC, as pungi's logs write it: `2026-12-04 21:19:34`. Logs are the one
/// output that carries the wall clock; nothing a compose ships does.
fn log_time(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn log_lines_carry_a_readable_utc_time() {
        let t =
            time::OffsetDateTime::from_unix_timestamp(1_796_419_174).expect("a valid timestamp");
        assert_eq!(super::log_time(t), "2026-12-04 21:19:34");
    }
}
