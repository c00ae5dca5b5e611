//! A partner network's flows: which site sends visitors to which page of another.

use super::QueryEngine;
use crate::query::FlowsQuery;
use crate::results::{Flow, FlowsResult};
use crate::sql::network::{flows, FlowRow};
use crate::QueryError;
use luister_model::Site;

impl QueryEngine {
    /// `GET /api/v1/network/flows`.
    pub async fn network_flows(&self, q: &FlowsQuery) -> Result<FlowsResult, QueryError> {
        let rows: Vec<FlowRow> = self.fetch(&flows(q)).await?;
        let start = (q.pagination.page.saturating_sub(1) * q.pagination.limit) as usize;
        let results = rows
            .into_iter()
            .filter_map(|row| {
                let from = owner(&q.sites, &row.referrer_host)?;
                (from.domain != row.site_id).then(|| Flow {
                    from: from.domain.clone(),
                    to: row.site_id,
                    page: row.pathname,
                    visitors: row.visitors,
                    visits: row.visits,
                    pageviews: row.pageviews,
                })
            })
            .skip(start)
            .take(q.pagination.limit as usize)
            .collect();
        Ok(FlowsResult { results })
    }
}

/// The site a referrer host belongs to; of several, the one with the longest domain
/// (`loket.gemeente.nl` over `gemeente.nl` when both are in the network).
fn owner<'a>(sites: &'a [Site], host: &str) -> Option<&'a Site> {
    sites
        .iter()
        .filter(|s| s.owns_host(host))
        .max_by_key(|s| s.domain.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referrer_hosts_belong_to_the_most_specific_site() {
        let mut gemeente = Site::new("gemeente.nl");
        gemeente.extra_hosts = vec!["werkenbij-gemeente.nl".into()];
        let sites = [
            gemeente,
            Site::new("loket.gemeente.nl"),
            Site::new("voedselbank.nl"),
        ];
        let domain = |host| owner(&sites, host).map(|s| s.domain.as_str());
        assert_eq!(domain("www.gemeente.nl"), Some("gemeente.nl"));
        assert_eq!(domain("werkenbij-gemeente.nl"), Some("gemeente.nl"));
        assert_eq!(domain("loket.gemeente.nl"), Some("loket.gemeente.nl"));
        assert_eq!(domain("www.voedselbank.nl"), Some("voedselbank.nl"));
        assert_eq!(domain("google.nl"), None);
    }
}
