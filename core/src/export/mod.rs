//! Files generated from the action model for the platforms to read, such as Stripe's `stripe-app.yaml`.

pub mod stripe_manifest;
