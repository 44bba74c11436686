//! The certificate of new handshakes, replaced while scimd runs: when the files change (polled,
//! which needs no file-system notifications and works for every way of replacing them) and
//! when scimd gets SIGHUP. Connections already open keep the certificate they were made with.
//! A pair that cannot be served leaves the old one in place and logs why.

use super::identity::{self, Contents, Identity};
use super::TlsFiles;
use chrono::Utc;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;

/// Seconds between reads of the files to notice a change, unless told otherwise. A change is
/// taken once two reads in a row agree, so that a certificate written before its key is not
/// taken with the old key: a reload follows a change within two to three of these.
pub const RELOAD_POLL_SECS: u64 = 2;

/// The certificate and key served now, and the files they come from.
#[derive(Debug)]
pub struct Certificates {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
        Some(Arc::clone(&current))
    }
}

impl Certificates {
    /// Serves `identity`, loaded from `files`.
    pub fn new(files: TlsFiles, identity: &Identity) -> Arc<Self> {
        Arc::new(Self {
            files,
            current: RwLock::new(Arc::clone(&identity.key)),
        })
    }

    fn replace(&self, identity: &Identity) {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        *current = Arc::clone(&identity.key);
        let facts = &identity.facts;
        tracing::info!(
            certificate = %self.files.certificate.display(),
            subject = %facts.subject,
            serial = %facts.serial,
            not_after = %facts.not_after.to_rfc3339(),
            "TLS certificate reloaded: new connections use it"
        );
        facts.warn_if_expiring(Utc::now());
    }

    /// Reloads the pair whenever its files change for good (read every `poll`, when some), and
    /// whenever `hangups` yields (SIGHUP). `loaded` is what the files held when served first.
    pub async fn watch(
        self: Arc<Self>,
        mut loaded: Contents,
        poll: Option<Duration>,
        hangups: mpsc::Receiver<()>,
    ) {
        let mut hangups = Some(hangups);
        let mut previous = loaded.clone();
        // A bad pair is reported once, not every poll, until the files change again.
        let mut refused: Option<Contents> = None;
        let mut ticks = poll.map(|poll| {
            let mut ticks = tokio::time::interval(poll);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks
        });
        loop {
            let asked = tokio::select! {
                () = tick(&mut ticks) => false,
                hangup = next(&mut hangups) => match hangup {
                    Some(()) => true,
                    // No one can ask any more; the files are still watched.
                    None => {
                        hangups = None;
                        continue;
                    }
                },
            };
            let contents = match identity::read(&self.files) {
                Ok(contents) => contents,
                Err(error) => {
                    // A file briefly missing while it is replaced is no news; asked, it is.
                    if asked {
                        tracing::error!(%error, "TLS certificate not reloaded: still serving the previous one");
                    }
                    continue;
                }
            };
            let settled = contents == previous;
            previous = contents.clone();
            let changed = contents != loaded && refused.as_ref() != Some(&contents);
            if !(asked || (settled && changed)) {
                continue;
            }
            match Identity::parse(&self.files, &contents) {
                Ok(identity) => {
                    self.replace(&identity);
                    loaded = contents;
                    refused = None;
                }
                Err(error) => {
                    tracing::error!(%error, "TLS certificate not reloaded: still serving the previous one");
                    refused = Some(contents);
                }
            }
        }
    }
}

/// The next request to reload; never, once its senders are gone.
async fn next(hangups: &mut Option<mpsc::Receiver<()>>) -> Option<()> {
    match hangups {
        Some(hangups) => hangups.recv().await,
        None => std::future::pending().await,
    }
}

/// The next time to read the files; never, when they are not polled.
async fn tick(ticks: &mut Option<tokio::time::Interval>) {
    match ticks {
        Some(ticks) => {
            ticks.tick().await;
        }
        None => std::future::pending().await,
    }
}
