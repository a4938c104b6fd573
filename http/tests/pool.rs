//! Keep-alive client connections reused through the hub's pool.
use http::{ClientConn, Headers, Server, ServerConfig};
use hub::run_within as within;
use std::cell::RefCell;
use std::io::Read;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

/// The client port each request came from, by target.
type Peers = Rc<RefCell<Vec<(String, u16)>>>;

/// A server answering `/close` with `Connection: close`, everything else
/// with the request body echoed, 1,000 bytes for `/big`. The hub's stop
/// event stops it, closing its idle connections; its green thread ends
/// then.
fn server() -> (SocketAddr, Peers, hub::JoinHandle<()>) {
    server_with(ServerConfig::default())
}

fn server_with(cfg: ServerConfig) -> (SocketAddr, Peers, hub::JoinHandle<()>) {
    let l = hub::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = l.local_addr().unwrap();
    let peers: Peers = Rc::default();
    let p2 = peers.clone();
    let server = Server::new(cfg, |req, resp| {
        let mut body = Vec::new();
        req.body.read_to_end(&mut body)?;
        let mut h = Headers::new();
        match req.target() {
            "/close" => {
                h.set("Connection", "close");
                resp.send(200, &h, b"bye")
            }
            "/big" => resp.send(200, &h, &[b'x'; 1000]),
            _ => resp.send(200, &h, &body),
        }
    })
    .access_log(move |r| p2.borrow_mut().push((r.target.to_string(), r.peer.port())));
    let serving = hub::spawn(move || server.serve(l).unwrap());
    (addr, peers, serving)
}

fn get(addr: SocketAddr, target: &str, read_body: bool) -> (bool, Vec<u8>) {
    let mut c = ClientConn::checkout(addr, Duration::from_secs(1)).unwrap();
    let reused = c.reused();
    c.send_head("GET", target, &Headers::new()).unwrap();
    let mut r = c.read_response("GET", Duration::from_secs(2)).unwrap();
    assert_eq!(r.status(), 200);
    let body = if read_body { r.read_all(10_000).unwrap() } else { Vec::new() };
    drop(r);
    c.release();
    (reused, body)
}

fn ports(peers: &Peers) -> Vec<u16> {
    peers.borrow().iter().map(|(_, p)| *p).collect()
}

#[test]
fn a_completed_exchange_is_reused_and_an_unfinished_one_is_not() {
    within(10, || {
        let (addr, peers, _) = server();
        assert_eq!(get(addr, "/a", true), (false, b"".to_vec()));
        assert_eq!(http::pool::idle_count(), 1);
        assert!(get(addr, "/b", true).0, "the idle connection is taken");
        // A body left unread: the connection is closed, not pooled.
        assert!(get(addr, "/big", false).0);
        assert_eq!(http::pool::idle_count(), 0);
        assert!(!get(addr, "/c", true).0);
        // The server closing after its answer: not pooled.
        assert_eq!(get(addr, "/close", true), (true, b"bye".to_vec()));
        assert_eq!(http::pool::idle_count(), 0);
        let p = ports(&peers);
        assert_eq!(p[0], p[1]);
        assert_eq!(p[1], p[2]);
        assert_ne!(p[2], p[3]);
        assert_eq!(p[3], p[4]);
    });
}

#[test]
fn a_body_not_fully_sent_is_never_reused() {
    within(10, || {
        let (addr, _, _) = server();
        let mut c = ClientConn::checkout(addr, Duration::from_secs(1)).unwrap();
        let mut h = Headers::new();
        h.set("Content-Length", "10");
        c.send_head("PUT", "/x", &h).unwrap();
        c.write_body(b"12345").unwrap();
        c.release();
        assert_eq!(http::pool::idle_count(), 0);
        // Sent whole and answered: pooled.
        let mut c = ClientConn::checkout(addr, Duration::from_secs(1)).unwrap();
        c.send_head("PUT", "/x", &h).unwrap();
        c.write_body(b"12345").unwrap();
        c.write_body(b"67890").unwrap();
        let mut r = c.read_response("PUT", Duration::from_secs(2)).unwrap();
        assert_eq!(r.read_all(100).unwrap(), b"1234567890");
        drop(r);
        c.release();
        assert_eq!(http::pool::idle_count(), 1);
    });
}

#[test]
fn a_connection_the_server_closed_while_idle_is_not_handed_out() {
    within(10, || {
        let (addr, _, serving) = server();
        get(addr, "/a", true);
        assert_eq!(http::pool::idle_count(), 1);
        // The server stops: it closes its idle connections and its listener.
        hub::stop_event().set();
        serving.join().unwrap();
        assert!(ClientConn::checkout(addr, Duration::from_secs(1)).is_err(), "the closed one was not handed out");
        assert_eq!(http::pool::idle_count(), 0);
    });
}

#[test]
fn a_new_hub_on_the_same_thread_starts_with_an_empty_pool() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let addr = hub::run(|| {
            let (addr, _, _) = server();
            get(addr, "/a", true);
            assert_eq!(http::pool::idle_count(), 1);
            addr
        });
        hub::run(move || {
            assert_eq!(http::pool::idle_count(), 0);
            let _ = addr;
        });
        tx.send(()).unwrap();
    });
    rx.recv_timeout(Duration::from_secs(10)).expect("both hubs ran");
}

#[test]
fn a_pooled_connection_closed_as_the_request_goes_out_is_known_stale() {
    within(10, || {
        use std::io::Write;
        let (addr, _, _) = server_with(ServerConfig { max_clients: 1, ..Default::default() });
        get(addr, "/a", true);
        // Taken from the pool while still open and quiet...
        let mut c = ClientConn::checkout(addr, Duration::from_secs(1)).unwrap();
        assert!(c.reused());
        // ...and then closed by the server, to make room for a newcomer.
        let mut other = hub::TcpStream::connect(addr, Some(Duration::from_secs(1))).unwrap();
        other.write_all(b"GET /b HTTP/1.1\r\n\r\n").unwrap();
        // Its answer means it got the one slot: the pooled one was closed.
        let mut answer = Vec::new();
        let mut buf = [0u8; 256];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = other.read(&mut buf).unwrap();
            assert!(n > 0, "the newcomer got no answer");
            answer.extend_from_slice(&buf[..n]);
        }
        let e = c
            .send_head("GET", "/c", &Headers::new())
            .and_then(|()| c.await_answer(Duration::from_secs(2)))
            .expect_err("the server closed it");
        assert!(c.went_stale(&e), "{e}");
        // A new connection's failure is never taken for a stale one.
        drop(other);
        let fresh = ClientConn::connect(addr, Duration::from_secs(1)).unwrap();
        assert!(!fresh.went_stale(&std::io::Error::from(std::io::ErrorKind::UnexpectedEof)));
    });
}

#[test]
fn a_pooled_connection_that_breaks_after_its_answer_began_is_not_stale() {
    within(10, || {
        use std::io::Write;
        let l = hub::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = l.local_addr().unwrap();
        hub::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").unwrap();
            let _ = s.read(&mut buf).unwrap();
            // The second answer begins, then the server goes away.
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc").unwrap();
        });
        get(addr, "/a", true);
        let mut c = ClientConn::checkout(addr, Duration::from_secs(1)).unwrap();
        assert!(c.reused());
        c.send_head("GET", "/b", &Headers::new()).unwrap();
        let e = c
            .read_response("GET", Duration::from_secs(2))
            .and_then(|mut r| r.read_all(100))
            .expect_err("the body ends early");
        // The server took the request: sending it again would repeat it.
        assert!(!c.went_stale(&e), "{e}");
    });
}
