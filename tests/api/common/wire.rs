//! HTTP/1.1 written byte for byte on a raw connection: for what a client library would
//! normalise, refuse or never send (`..` in a path, a chunked body of a chosen size).

use std::net::SocketAddr;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One exchange over a fresh connection: the status and the whole answer, head and body, as
/// text. The request should say `Connection: close`, or the answer is read until the server
/// closes the idle connection.
pub async fn exchange(address: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).await.expect("scimd accepts");
    stream
        .write_all(request)
        .await
        .expect("the request is sent");
    let mut answer = Vec::new();
    // scimd may close the connection before reading all of a refused body.
    let _ = stream.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("an HTTP response, got {text:?}"));
    (status, text)
}

/// The body of a whole answer `exchange` read.
pub fn body_of(answer: &str) -> &str {
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or_default()
}
