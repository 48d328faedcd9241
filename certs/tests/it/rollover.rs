//! Two roots of one authority trusted side by side (a CA rollover, PROTOCOL §6.4): each
//! certifies its own principals, each has its own CRL and CRL numbers, a revocation on
//! one root's CRL touches only that root's certificates, and what cannot be told apart
//! (two roots with one name, a root without its CRL) is refused.

use std::path::Path;

use tiprelay_certs::ca::Ca;
use tiprelay_common::files::{self, TrustFiles};
use tiprelay_proto::*;

fn mx() -> Authority {
    Authority::Jurisdiction("MX".parse().unwrap())
}

fn signed_by(dir: &Path) -> Vec<u8> {
    let signer = files::read_signer(&dir.join("sign.key"), &dir.join("sign.crt")).unwrap();
    let tip = crate::verify::tip_by(&signer.identity().to_string(), "MX".parse().unwrap(), "US".parse().unwrap());
    signer.sign(&tip).unwrap()
}

fn now() -> Timestamp {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    Timestamp::from_unix_ms(u64::try_from(ms).unwrap()).unwrap()
}

fn concat(to: &Path, parts: &[&Path]) {
    let all: Vec<u8> = parts.iter().flat_map(|p| std::fs::read(p).unwrap()).collect();
    std::fs::write(to, all).unwrap();
}

#[test]
fn two_roots_of_one_authority_verify_side_by_side_each_with_its_own_crl() {
    let d = tempfile::tempdir().unwrap();
    let (old_dir, new_dir) = (d.path().join("mx-ca"), d.path().join("mx-ca-2"));
    Ca::init(&old_dir, mx(), 365, 1, None).unwrap();
    assert_eq!(Ca::successor(&old_dir).unwrap(), (mx(), 2));
    Ca::init(&new_dir, mx(), 365, 2, None).unwrap();
    let (mut old, mut new) = (Ca::load(&old_dir).unwrap(), Ca::load(&new_dir).unwrap());
    assert_eq!(new.state().generation, 2);
    let ana: PrincipalId = "tiprelay://MX/analyst/ana".parse().unwrap();
    let bea: PrincipalId = "tiprelay://MX/analyst/bea".parse().unwrap();
    old.issue_principal(&ana, &d.path().join("ana-1"), 30).unwrap();
    new.issue_principal(&ana, &d.path().join("ana-2"), 30).unwrap();
    new.issue_principal(&bea, &d.path().join("bea-2"), 30).unwrap();

    let (roots, crls) = (d.path().join("roots.pem"), d.path().join("crls.pem"));
    let files = [TrustFiles { authority: mx(), ca: roots.clone(), crl: crls.clone() }];
    // Both roots, both CRLs: both generations of certificates verify.
    concat(&roots, &[&old_dir.join("ca.crt"), &new_dir.join("ca.crt")]);
    concat(&crls, &[&old_dir.join("crl.pem"), &new_dir.join("crl.pem")]);
    let t = files::load_trust(&files).unwrap();
    assert_eq!(t.roots(mx()).len(), 2);
    assert_eq!(t.crl_infos(mx()).len(), 2);
    for who in ["ana-1", "ana-2", "bea-2"] {
        assert!(verify::<Tip>(&signed_by(&d.path().join(who)), &t, now()).is_ok(), "{who}");
    }
    // Only the old root: the new generation's certificates are not issued by it.
    concat(&roots, &[&old_dir.join("ca.crt")]);
    concat(&crls, &[&old_dir.join("crl.pem")]);
    let t = files::load_trust(&files).unwrap();
    let e = verify::<Tip>(&signed_by(&d.path().join("ana-2")), &t, now()).unwrap_err();
    assert_eq!(e.code(), ErrorCode::UntrustedChain, "{e}");

    // A revocation on the new root's CRL: only that certificate is refused; the old root's
    // certificate of the same principal still verifies.
    new.revoke(&d.path().join("ana-2/sign.crt")).unwrap();
    concat(&roots, &[&old_dir.join("ca.crt"), &new_dir.join("ca.crt")]);
    concat(&crls, &[&new_dir.join("crl.pem"), &old_dir.join("crl.pem")]);
    let t = files::load_trust(&files).unwrap();
    assert_eq!(verify::<Tip>(&signed_by(&d.path().join("ana-2")), &t, now()).unwrap_err().code(), ErrorCode::Revoked);
    assert!(verify::<Tip>(&signed_by(&d.path().join("ana-1")), &t, now()).is_ok());
    assert!(verify::<Tip>(&signed_by(&d.path().join("bea-2")), &t, now()).is_ok());

    // CRL numbers are kept per root: the new root's CRL (number 2) does not make the old
    // root's (number 1) look older.
    let numbers = t.check_crl_floors(|_| None).unwrap();
    assert_eq!(numbers.len(), 2);
    assert_ne!(numbers[0].0.root, numbers[1].0.root);
    assert!(numbers.iter().all(|(s, _)| !s.sole));
    let mut with_floor = numbers.clone();
    with_floor.iter_mut().for_each(|(_, n)| *n += 1);
    let e = t.check_crl_floors(|s| with_floor.iter().find(|(w, _)| w == s).map(|(_, n)| *n)).unwrap_err();
    assert!(matches!(e, TrustError::CrlNotNewer { .. }), "{e}");

    // A root without its CRL is refused by the loader, naming the root.
    concat(&crls, &[&old_dir.join("crl.pem")]);
    let e = files::load_trust(&files).unwrap_err().to_string();
    assert!(e.contains("no revocation list of the root CA tiprelay MX root CA (2)"), "{e}");
    // A CRL of neither root is refused.
    let other = d.path().join("other-ca");
    Ca::init(&other, mx(), 365, 3, None).unwrap();
    concat(&crls, &[&old_dir.join("crl.pem"), &new_dir.join("crl.pem"), &other.join("crl.pem")]);
    assert!(files::load_trust(&files).unwrap_err().to_string().contains("not signed by the MX root CA"));
}

#[test]
fn two_roots_with_one_name_cannot_be_trusted_side_by_side() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    Ca::init(&a, mx(), 365, 1, None).unwrap();
    Ca::init(&b, mx(), 365, 1, None).unwrap();
    let mut t = TrustStore::new();
    let der = |p: &Path| files::read_cert(&p.join("ca.crt")).unwrap().to_vec();
    t.add_root(mx(), &der(&a)).unwrap();
    t.add_root(mx(), &der(&a)).unwrap();
    assert_eq!(t.roots(mx()).len(), 1, "the same root twice is one root");
    let e = t.add_root(mx(), &der(&b)).unwrap_err();
    assert!(e.to_string().contains("a rollover root needs a name of its own"), "{e}");
    // At most four roots at once.
    for g in 2..=5 {
        let dir = d.path().join(format!("g{g}"));
        Ca::init(&dir, mx(), 365, g, None).unwrap();
        let r = t.add_root(mx(), &der(&dir));
        assert_eq!(r.is_ok(), g <= 4, "generation {g}: {r:?}");
    }
}

/// CRL floors per root, and the migration from the per-authority floor of before: the old
/// floor guards the sole root until the per-root keys are written, and never again after,
/// so a later change of root (whose CRL numbers start again at 1) is not refused.
#[test]
fn crl_floors_move_to_per_root_keys_once_and_a_new_root_does_not_inherit_the_old_floor() {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    let d = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (d.path().join("a"), d.path().join("b"));
    Ca::init(&a_dir, mx(), 365, 1, None).unwrap();
    Ca::init(&b_dir, mx(), 365, 2, None).unwrap();
    let mut a = Ca::load(&a_dir).unwrap();
    for _ in 0..4 {
        a.write_crl(&a_dir.join("crl.pem"), 7).unwrap(); // A's CRL is now number 5
    }
    let files_of = |dir: &Path| [TrustFiles { authority: mx(), ca: dir.join("ca.crt"), crl: dir.join("crl.pem") }];
    let store: RefCell<BTreeMap<String, u64>> = RefCell::new(BTreeMap::new());
    let check = |t: &TrustStore| {
        let s = store.borrow().clone();
        let r = files::crl_floors(t, |k| Ok::<_, ()>(s.get(k).copied())).unwrap();
        if let Ok(w) = &r {
            let mut st = store.borrow_mut();
            for (k, n) in w {
                let e = st.entry(k.clone()).or_insert(0);
                *e = (*e).max(*n);
            }
        }
        r
    };
    // Before the upgrade: one per-authority floor, 6 (newer than A's 5: refused).
    store.borrow_mut().insert("crl_floor:MX".into(), 6);
    let ta = files::load_trust(&files_of(&a_dir)).unwrap();
    assert!(matches!(check(&ta), Err(TrustError::CrlNotNewer { offered: 5, loaded: 6, .. })));
    // At 5 it is taken, and the floor moves to A's own key, with the marker.
    store.borrow_mut().insert("crl_floor:MX".into(), 5);
    check(&ta).unwrap();
    let keys: Vec<String> = store.borrow().keys().cloned().collect();
    assert!(keys.iter().any(|k| k.starts_with("crl_floor:MX:")), "{keys:?}");
    assert!(keys.contains(&files::crl_floor_migrated_key(mx())), "{keys:?}");
    // A newer CRL of A (6) is taken; then A's older one (5) is refused, from A's own key.
    let newer = d.path().join("newer");
    std::fs::create_dir(&newer).unwrap();
    std::fs::copy(a_dir.join("ca.crt"), newer.join("ca.crt")).unwrap();
    a.write_crl(&newer.join("crl.pem"), 7).unwrap(); // number 6
    let t6 = files::load_trust(&files_of(&newer)).unwrap();
    check(&t6).unwrap();
    assert!(matches!(check(&ta), Err(TrustError::CrlNotNewer { offered: 5, loaded: 6, .. })));
    // B alone (a direct change of root, its CRL number 1): not held to A's floor.
    let tb = files::load_trust(&files_of(&b_dir)).unwrap();
    check(&tb).unwrap();
}
