//! What the tests that start `hearth` processes share.
#![expect(clippy::unwrap_used, reason = "test helpers fail loudly")]

/// A loopback port nothing listens on now (the listener is closed before the port is used).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
