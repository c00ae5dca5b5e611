//! API tokens in the store: created once, stored hashed, scoped, listed and revoked.

use luister_model::Site;
use luister_store::TokenScope;
use luister_tests::TestDb;

#[tokio::test]
async fn tokens_are_hashed_scoped_and_revocable() {
    let db = TestDb::new().await;
    db.store.add_site(&Site::new("enschede.nl")).await.unwrap();
    db.store.add_site(&Site::new("hoorn.nl")).await.unwrap();
    let admin = db
        .store
        .create_token("ci", TokenScope::Admin, vec![])
        .await
        .unwrap();
    let site = db
        .store
        .create_token("webteam", TokenScope::Read, vec!["enschede.nl".into()])
        .await
        .unwrap();
    assert!(admin.starts_with(luister_store::TOKEN_PREFIX) && admin != site);

    let info = db.store.find_token(&site).await.unwrap().unwrap();
    assert_eq!((info.name.as_str(), info.admin), ("webteam", false));
    assert!(info.can_read("enschede.nl") && !info.can_read("hoorn.nl"));
    assert!(db
        .store
        .find_token(&admin)
        .await
        .unwrap()
        .unwrap()
        .can_read("hoorn.nl"));
    assert!(db.store.find_token("lst_nonsense").await.unwrap().is_none());
    assert!(db.store.find_token("").await.unwrap().is_none());

    // Only the hash is stored.
    let stored: Vec<String> = db
        .store
        .client()
        .query("SELECT token_hash FROM tokens")
        .fetch_all()
        .await
        .unwrap();
    assert!(stored
        .iter()
        .all(|h| h.len() == 64 && *h != site && *h != admin));
    assert!(stored.contains(&luister_store::hash_token(&site)));

    let listed = db.store.list_tokens().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|t| t.id.len() == 12));
    let revoked = db.store.revoke_token("webteam").await.unwrap();
    assert_eq!(revoked.id, info.id);
    assert!(db.store.find_token(&site).await.unwrap().is_none());
    assert_eq!(db.store.list_tokens().await.unwrap().len(), 1);
    assert!(db.store.revoke_token("webteam").await.is_err());
    let admin_id = db.store.list_tokens().await.unwrap()[0].id.clone();
    db.store.revoke_token(&admin_id).await.unwrap();
    assert!(db.store.find_token(&admin).await.unwrap().is_none());

    assert!(db
        .store
        .create_token("x", TokenScope::Read, vec!["onbekend.nl".into()])
        .await
        .is_err());
    assert!(db
        .store
        .create_token("x", TokenScope::Read, vec![])
        .await
        .is_err());
}
