//! Reserved IPs: a TCP forwarder on the IP's own loopback address to the droplet it is
//! assigned to (same port). The droplet is looked up for every new connection, so an
//! assignment that completes sends new connections to the new droplet. A reserved IP assigned
//! to nobody resets connections.
//!
//! A move (assign or unassign completed, holder deleted) resets every connection open through
//! the IP and refuses new connections for a blackout ([`crate::IpMoves`], which cites the
//! source: "Moving IPs has a cost. It breaks all active connections, has a momentary period
//! where connections will fail", digitalocean/flipop). With the model off, connections already
//! open stay with the droplet they were opened to until they close.
//!
//! How a move breaks a connection follows from what the network does: packets of an open
//! connection now reach a droplet that has no socket for them, which answers with a reset, and
//! nothing tells an idle client until it sends. So a connection idle at the move (a kept-alive
//! one between requests) is reset when the client next sends a byte: its next request fails
//! before any answer. A connection with a request in flight (bytes sent to the droplet, no
//! answer byte since) is reset at once: that request fails.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::app::reset;
use crate::state::Shared;

/// Forward connections to reserved IP `ip` until the simulator stops or the IP is deleted.
pub(crate) async fn serve(
    sh: Arc<Shared>,
    ip: Ipv4Addr,
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
    mut gone: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.wait_for(|s| *s) => break,
            _ = gone.wait_for(|s| *s) => break,
        };
        let Ok((down, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let target = {
            let mut st = sh.lock();
            if let Some(rec) = st.ips.get_mut(&ip)
                && rec
                    .blackout_until
                    .is_some_and(|t| tokio::time::Instant::now() < t)
            {
                rec.stats.connections += 1;
                rec.stats.blackout += 1;
                drop(st);
                reset(down);
                continue;
            }
            let holder_addr = st
                .ips
                .get(&ip)
                .and_then(|r| r.holder)
                .and_then(|d| st.droplets.get(&d).map(|r| (d, r.app.addr)));
            let Some(rec) = st.ips.get_mut(&ip) else {
                break;
            };
            rec.stats.connections += 1;
            match holder_addr {
                Some((d, _)) => *rec.stats.by_droplet.entry(d).or_default() += 1,
                None => rec.stats.unassigned += 1,
            }
            holder_addr.map(|h| (h, rec.moved.subscribe(), *rec.moved.borrow()))
        };
        let Some(((_, addr), moved, opened)) = target else {
            reset(down);
            continue;
        };
        let _ = down.set_nodelay(true);
        let sh = sh.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let up = match TcpStream::connect(SocketAddr::from((addr, sh.port))).await {
                Ok(s) => s,
                Err(_) => {
                    if let Some(rec) = sh.lock().ips.get_mut(&ip) {
                        rec.stats.connect_errors += 1;
                    }
                    reset(down);
                    return;
                }
            };
            let _ = up.set_nodelay(true);
            pipe(&sh, ip, down, up, moved, opened, stop).await;
        });
    }
}

/// Forward between the client (`down`) and the droplet (`up`) until either side closes, the
/// simulator stops, or a move of the IP (`moved` no longer `opened`) breaks the connection.
async fn pipe(
    sh: &Shared,
    ip: Ipv4Addr,
    mut down: TcpStream,
    up: TcpStream,
    mut moved: watch::Receiver<u64>,
    opened: u64,
    mut stop: watch::Receiver<bool>,
) {
    let count_reset = || {
        if let Some(rec) = sh.lock().ips.get_mut(&ip) {
            rec.stats.reset_by_move += 1;
        }
    };
    let mut up = Some(up);
    let (mut a, mut b) = (vec![0u8; 16 * 1024], vec![0u8; 16 * 1024]);
    let (mut down_open, mut up_open) = (true, true);
    // A request is in flight: bytes went to the droplet and no answer byte came back since.
    let mut awaiting = false;
    loop {
        if !down_open && !up_open {
            return;
        }
        let broken = up.is_none();
        tokio::select! {
            r = down.read(&mut a), if down_open => match r {
                Ok(0) => {
                    down_open = false;
                    match up.as_mut() {
                        Some(u) => { let _ = u.shutdown().await; }
                        None => return,
                    }
                }
                Ok(n) => {
                    let Some(u) = up.as_mut() else {
                        // The first bytes after a move: the new holder has no such connection.
                        count_reset();
                        reset(down);
                        return;
                    };
                    if u.write_all(&a[..n]).await.is_err() {
                        reset(down);
                        return;
                    }
                    awaiting = true;
                }
                Err(_) => {
                    // The client reset: pass it on.
                    if let Some(u) = up.take() {
                        reset(u);
                    }
                    return;
                }
            },
            r = async { up.as_mut().expect("guarded").read(&mut b).await }, if up_open && !broken => match r {
                Ok(0) => {
                    up_open = false;
                    let _ = down.shutdown().await;
                }
                Ok(n) => {
                    if down.write_all(&b[..n]).await.is_err() {
                        return;
                    }
                    awaiting = false;
                }
                Err(_) => {
                    // The droplet reset us: pass the reset on.
                    reset(down);
                    return;
                }
            },
            _ = async { let _ = moved.wait_for(|n| *n != opened).await; }, if !broken => {
                if let Some(u) = up.take() {
                    reset(u);
                }
                if awaiting {
                    count_reset();
                    reset(down);
                    return;
                }
                up_open = false;
            }
            _ = async { let _ = stop.wait_for(|s| *s).await; } => return,
        }
    }
}
