//! Progress of long administrative commands, on stderr: a bar on a terminal, and a line per
//! step otherwise (logs, CI), so that stdout keeps only the result.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// `total`: how many steps there will be, when known.
    pub fn new(total: Option<u64>) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self { bar: None };
        }
        let bar = match total {
            Some(total) => ProgressBar::new(total),
            None => ProgressBar::no_length(),
        };
        let template = if total.is_some() {
            "{bar:40} {pos}/{len} {msg}"
        } else {
            "{spinner} {pos} {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        Self { bar: Some(bar) }
    }

    /// `done` steps so far; `line` is what a non-terminal reader sees.
    pub fn update(&self, done: usize, line: &str) {
        match &self.bar {
            Some(bar) => bar.set_position(u64::try_from(done).unwrap_or(u64::MAX)),
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
