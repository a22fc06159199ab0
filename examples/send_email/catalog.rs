//! The built-in catalog the example runs on, so it needs no services: audiences with segments
//! (one audience's segment look-up fails) and templates with merge variables (one template's
//! sends fail as if the email service were down).

use std::sync::atomic::{AtomicUsize, Ordering};

/// An audience and its segments; `None` when looking the segments up fails.
pub struct Audience {
    pub id: &'static str,
    pub name: &'static str,
    pub segments: Option<&'static [(&'static str, &'static str)]>,
}

/// A template and its merge variables; `outage` simulates the email service being down.
pub struct Template {
    pub id: &'static str,
    pub name: &'static str,
    pub variables: &'static [&'static str],
    pub outage: bool,
}

pub const AUDIENCES: &[Audience] = &[
    Audience {
        id: "aud_customers",
        name: "Customers",
        segments: Some(&[
            ("seg_active", "Active in the last 30 days"),
            ("seg_trial", "On a trial"),
        ]),
    },
    Audience {
        id: "aud_newsletter",
        name: "Newsletter subscribers",
        segments: Some(&[
            ("seg_weekly", "Weekly digest"),
            ("seg_monthly", "Monthly digest"),
        ]),
    },
    Audience {
        id: "aud_partners",
        name: "Partners",
        segments: None,
    },
];

pub const TEMPLATES: &[Template] = &[
    Template {
        id: "tpl_welcome",
        name: "Welcome",
        variables: &["first_name"],
        outage: false,
    },
    Template {
        id: "tpl_invoice",
        name: "Invoice reminder",
        variables: &["first_name", "amount_due"],
        outage: false,
    },
    Template {
        id: "tpl_status",
        name: "Status update",
        variables: &["first_name"],
        outage: true,
    },
];

/// The catalog, counting look-ups so tests can see what the memo saves.
#[derive(Default)]
pub struct Catalog {
    lookups: AtomicUsize,
}

impl Catalog {
    pub fn audiences(&self) -> &'static [Audience] {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        AUDIENCES
    }

    pub fn audience(&self, id: &str) -> Option<&'static Audience> {
        self.audiences().iter().find(|a| a.id == id)
    }

    pub fn templates(&self) -> &'static [Template] {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        TEMPLATES
    }

    pub fn template(&self, id: &str) -> Option<&'static Template> {
        self.templates().iter().find(|t| t.id == id)
    }

    /// How many look-ups have been made.
    #[allow(dead_code)]
    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::Relaxed)
    }
}
