//! Reading a cluster for `simulate`: the coverage inventory through the webhook crate's audit
//! lister (the same list calls `backstop-webhook audit --cluster` makes), and the Velero
//! namespace's Backups for their durations. Read-only: list calls only.

use kube::Client;
use kube::api::{Api, ListParams};
use policy::velero::Backup;

use crate::Error;

const PAGE: u32 = 500;

/// Every Backup in `namespace`, page by page.
pub async fn list_backups(client: Client, namespace: &str) -> Result<Vec<Backup>, Error> {
    let api: Api<Backup> = Api::namespaced(client, namespace);
    let mut backups = Vec::new();
    let mut params = ListParams::default().limit(PAGE);
    loop {
        let page = api.list(&params).await.map_err(|source| Error::Kube {
            action: format!("list backups.velero.io in namespace {namespace}"),
            source: Box::new(source),
        })?;
        let next = page
            .metadata
            .continue_
            .clone()
            .filter(|token| !token.is_empty());
        backups.extend(page.items);
        match next {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(backups),
        }
    }
}
