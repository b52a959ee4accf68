//! The pre-switch hook, run just before the reserved IP moves (see
//! [`crate::bluegreen::PreSwitch`]).

use super::*;
use crate::bluegreen::PreSwitch;

/// Attempts, 100 ms apart, to see `Connection: close` through the reserved IP after the call.
const CHECKS: u32 = 3;

/// Call the live droplet's pre-switch URL, then check through the reserved IP, on a new
/// connection, that its answers now say `Connection: close`. `Err`: nothing was switched.
pub(super) async fn pre_switch(
    steps: &Steps<'_>,
    gate: &HealthGate,
    hook: &PreSwitch,
    ip: Ipv4Addr,
    live: &Droplet,
) -> Result<(), Stop> {
    let s = steps.start_on(
        Step::PreSwitch,
        crate::events::Subject::droplet(live.id),
        format!(
            "{} {} on droplet {} ({}): stop keeping connections alive",
            hook.method, hook.path, live.id, live.name
        ),
    );
    let fail = |steps: &Steps<'_>, s, why: String| {
        steps.finish(s, false, why.clone());
        Stop::new(
            Outcome::NotReady,
            format!("the pre-switch hook failed: {why}; nothing was switched"),
        )
    };
    let addr = match gate.address_of(live) {
        Ok(a) => a,
        Err(why) => return Err(fail(steps, s, why)),
    };
    if let Err(why) = gate.call(addr, &hook.path, &hook.method).await {
        return Err(fail(steps, s, why));
    }
    let mut last = String::new();
    for attempt in 0..CHECKS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        match gate.closes_connections(IpAddr::V4(ip)).await {
            Ok(()) => {
                steps.finish(
                    s,
                    true,
                    format!("answers through {ip} say `Connection: close`"),
                );
                return Ok(());
            }
            Err(why) => last = why,
        }
    }
    Err(fail(
        steps,
        s,
        format!(
            "after {} {}, {last}: the app must answer `Connection: close` and close idle connections once called",
            hook.method, hook.path
        ),
    ))
}
