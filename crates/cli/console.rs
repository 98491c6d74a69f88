//! What a release engineer sees while a compose runs: one line per phase (start, end, duration,
//! outcome), external commands with `--verbose`, only errors with `--quiet`, and progress bars
//! that turn into nothing when stderr is not a terminal.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use kiln_engine::Observer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

pub struct Console {
    verbosity: Verbosity,
    bars: MultiProgress,
    tty: bool,
    /// A spinner per running phase, so a terminal shows what is running right now.
    running: Mutex<HashMap<String, ProgressBar>>,
}

impl Console {
    pub fn new(verbosity: Verbosity) -> Self {
        let tty = std::io::stderr().is_terminal();
        let bars = MultiProgress::with_draw_target(if tty && verbosity != Verbosity::Quiet {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        Console {
            verbosity,
            bars,
            tty,
            running: Mutex::new(HashMap::new()),
        }
    }

    pub fn line(&self, text: &str) {
        if self.verbosity != Verbosity::Quiet {
            let _ = self.bars.println(text);
            if !self.tty {
                eprintln!("{text}");
            }
        }
    }

    pub fn error_line(&self, text: &str) {
        if self.tty {
            let _ = self.bars.println(text);
        } else {
            eprintln!("{text}");
        }
    }
}

impl Observer for Console {
    fn phase_started(&self, phase: &str) {
        self.line(&format!("[{phase:<13}] started"));
        if self.tty && self.verbosity != Verbosity::Quiet {
            let spinner = self.bars.add(ProgressBar::new_spinner());
            if let Ok(style) =
                ProgressStyle::with_template("[{prefix:<13}] {spinner} running {elapsed}")
            {
                spinner.set_style(style);
            }
            spinner.set_prefix(phase.to_owned());
            spinner.enable_steady_tick(Duration::from_millis(120));
            if let Ok(mut r) = self.running.lock() {
                r.insert(phase.to_owned(), spinner);
            }
        }
    }

    fn phase_finished(&self, phase: &str, outcome: &str, seconds: f64) {
        if let Some(spinner) = self.running.lock().ok().and_then(|mut r| r.remove(phase)) {
            spinner.finish_and_clear();
        }
        // The error itself was printed once, in full, by `error`; this line only ends the phase.
        if outcome.starts_with("FAILED") {
            self.error_line(&format!("[{phase:<13}] FAILED in {seconds:.2}s"));
        } else {
            let text = format!("[{phase:<13}] {outcome} in {seconds:.2}s");
            self.line(&text);
        }
    }

    fn phase_not_run(&self, phase: &str, why: &str) {
        // Phases the config never mentions are noise in every compose: `kiln plan` and
        // `--verbose` list them.
        if why == "not configured" && self.verbosity != Verbosity::Verbose {
            return;
        }
        self.line(&format!("[{phase:<13}] {why}"));
    }

    fn command(&self, phase: &str, argv: &str) {
        if self.verbosity == Verbosity::Verbose {
            self.line(&format!("[{phase:<13}] $ {argv}"));
        }
    }

    fn error(&self, phase: &str, message: &str) {
        self.error_line(&format!("[{phase:<13}] error: {message}"));
    }

    fn progress(&self, phase: &str, len: u64, message: &str) -> ProgressBar {
        if !self.tty || self.verbosity == Verbosity::Quiet {
            return ProgressBar::hidden();
        }
        let bar = self.bars.add(ProgressBar::new(len));
        if let Ok(style) =
            ProgressStyle::with_template("[{prefix:<13}] {msg} {wide_bar} {pos}/{len} {eta}")
        {
            bar.set_style(style);
        }
        bar.set_prefix(phase.to_owned());
        bar.set_message(message.to_owned());
        bar
    }
}
