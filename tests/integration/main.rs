//! Integration tests: one binary, one module per concern.

mod corpus;
mod disconnect;
mod epilot_callback;
mod epilot_keys;
mod epilot_server;
mod export;
mod fixtures;
mod form_budget;
mod form_state;
mod harness;
mod load;
mod logs;
mod operability;
mod postgres_tls;
mod runtime;
mod schema_agreement;
mod schema_decode;
mod schema_reference;
mod schema_snapshots;
mod simulator;
mod slow_clients;
mod store_outage;
mod stripe_envelope;
mod stripe_secrets;
mod stripe_server;
mod support;
