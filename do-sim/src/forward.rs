//! Reserved IPs: a TCP forwarder on the IP's own loopback address to the droplet it is
//! assigned to (same port). The droplet is looked up for every new connection, so an
//! assignment that completes sends new connections to the new droplet; connections already
//! open stay with the droplet they were opened to until they close. A reserved IP assigned to
//! nobody resets connections.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

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
        let Ok((mut down, _)) = accepted else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let target = {
            let mut st = sh.lock();
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
            holder_addr
        };
        let Some((_, addr)) = target else {
            reset(down);
            continue;
        };
        let _ = down.set_nodelay(true);
        let sh = sh.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let mut up = match TcpStream::connect(SocketAddr::from((addr, sh.port))).await {
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
            tokio::select! {
                r = tokio::io::copy_bidirectional(&mut down, &mut up) => {
                    if r.is_err() {
                        // The droplet reset us: pass the reset on.
                        reset(down);
                    }
                }
                _ = stop.wait_for(|s| *s) => {}
            }
        });
    }
}
