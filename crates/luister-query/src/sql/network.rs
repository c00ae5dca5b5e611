//! Cross-site flows of a partner network: pageviews on one site of the network whose
//! referrer is a page of another. Only referrers count: no identity crosses sites.

use super::scope::dates_of;
use super::Sql;
use crate::query::FlowsQuery;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, clickhouse::Row)]
pub struct FlowRow {
    pub site_id: String,
    pub referrer_host: String,
    pub pathname: String,
    pub visitors: u64,
    pub visits: u64,
    pub pageviews: u64,
}

/// Pageviews on the network's sites in the range whose referrer host is one of theirs
/// (domain, extra host or any subdomain), by (site, referrer host, page). The stored
/// referrer is `host/path` with `www.` cut off, and empty for a self-referral.
pub fn flows(q: &FlowsQuery) -> Sql {
    let (start, end) = q.scope.bounds();
    let sites: Vec<String> = q.sites.iter().map(|s| s.domain.clone()).collect();
    let mut hosts = Vec::new();
    for site in &q.sites {
        for host in std::iter::once(&site.domain).chain(&site.extra_hosts) {
            hosts.push(host.strip_prefix("www.").unwrap_or(host).to_string());
        }
    }
    let suffixes: Vec<String> = hosts.iter().map(|h| format!(".{h}")).collect();
    let mut sql = Sql::new();
    sql.push(
        "SELECT site_id, referrer_host, pathname, uniq(visitor_id) AS visitors, \
         uniq(session_id) AS visits, count() AS pageviews FROM (\
         SELECT site_id, splitByChar('/', referrer)[1] AS referrer_host, pathname, visitor_id, session_id \
         FROM events WHERE has(",
    )
    .bind(sites)
    .push(", site_id)");
    dates_of(&mut sql, "timestamp", start, end);
    sql.push(" AND timestamp >= toDateTime(")
        .bind(start)
        .push(") AND timestamp < toDateTime(")
        .bind(end)
        .push(") AND name = 'pageview' AND referrer != '') WHERE (has(")
        .bind(hosts)
        .push(", referrer_host) OR arrayExists(s -> endsWith(referrer_host, s), ")
        .bind(suffixes)
        // Moving within one site is no flow (its extra hosts are left to the engine).
        .push(")) AND NOT (referrer_host = site_id OR endsWith(referrer_host, concat('.', site_id)))")
        .push(" GROUP BY site_id, referrer_host, pathname ORDER BY visitors DESC, pageviews DESC, site_id, referrer_host, pathname");
    sql
}
