//! STIX 2.1 input (docs/STIX.md): `tiprelay_client::stix::import` on the input as a bundle,
//! with and without defaults, and every feed line it maps to through `feed::parse_line`,
//! as `tipctl feed --format stix2.1` does. Invariant: no panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tiprelay_client::feed::parse_line;
use tiprelay_client::stix::{import, tally, ImportDefaults, ImportItem};

fuzz_target!(|data: &[u8]| {
    let bare = ImportDefaults::default();
    let full = ImportDefaults {
        to: Some("US".into()),
        category: Some("other".into()),
        urgency: Some("routine".into()),
        tlp: Some("amber".into()),
    };
    for d in [&bare, &full] {
        if let Ok(items) = import(data, d) {
            let _ = tally(&items);
            for (i, _) in &items {
                if let ImportItem::Event(line) = i {
                    let _ = parse_line(line);
                }
            }
        }
    }
});
