//! `luister healthcheck`: one GET of a running server's `/ready`, for a container's or
//! an orchestrator's health check. Images have no shell tools that speak HTTP, so the
//! binary that is there anyway asks. It never touches ClickHouse or the data dir.

use crate::config::Config;
use clap::Args;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The URL to ask. Default: `/ready` at the configured `listen` address (0.0.0.0 asks 127.0.0.1).
    #[arg(long)]
    pub url: Option<String>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5)]
    pub timeout_seconds: u64,
}

/// Prints one line and exits 0 when the server answers 200, 1 otherwise.
pub async fn run(config: &Config, args: &HealthcheckArgs) -> ExitCode {
    let url = args.url.clone().unwrap_or_else(|| ready_url(config.listen));
    match ask(&url, Duration::from_secs(args.timeout_seconds.max(1))).await {
        Ok(()) => {
            println!("ready: {url}");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("not ready: {url}: {reason}");
            ExitCode::FAILURE
        }
    }
}

/// `/ready` at the address the server listens on, reachable from the same host.
pub fn ready_url(listen: SocketAddr) -> String {
    let host = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}/ready", SocketAddr::new(host, listen.port()))
}

async fn ask(url: &str, timeout: Duration) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| e.to_string())?;
    let response = client.get(url).send().await.map_err(describe)?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let body = body.trim();
    Err(if body.is_empty() {
        format!("answered {status}")
    } else {
        format!(
            "answered {status}: {}",
            body.chars().take(200).collect::<String>()
        )
    })
}

/// reqwest's top-level message hides the cause ("error sending request"): show the chain.
fn describe(error: reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unspecified_listen_address_is_asked_on_loopback() {
        assert_eq!(
            ready_url("0.0.0.0:8000".parse().unwrap()),
            "http://127.0.0.1:8000/ready"
        );
        assert_eq!(
            ready_url("[::]:9000".parse().unwrap()),
            "http://[::1]:9000/ready"
        );
        assert_eq!(
            ready_url("10.1.2.3:8000".parse().unwrap()),
            "http://10.1.2.3:8000/ready"
        );
    }
}
