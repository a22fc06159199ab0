//! The registration of the platforms in the CLI: each platform's flags reach `serve` and
//! `sign`, and `sign` asks the platform that owns the route.

use clap::Parser;

use crate::platform::SignRequest;
use crate::server::cli::{Cli, Command, ExportArgs};

#[test]
fn shell_quoting_survives_single_quotes() {
    let request = SignRequest {
        route: "/stripe/a/execute",
        body: r#"{"a":"it's"}"#,
        addr: "127.0.0.1:1".parse().unwrap(),
        now: 0,
    };
    assert!(
        request
            .curl(&[])
            .ends_with(r#"--data-raw '{"a":"it'\''s"}'"#)
    );
}

#[test]
fn sign_picks_the_platform_that_owns_the_route() {
    let cli = Cli::try_parse_from([
        "app",
        "sign",
        "--route",
        "/epilot/a",
        "--body",
        "{}",
        "--webhook-secret",
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "--webhook-id",
        "msg_1",
    ])
    .unwrap();
    let Command::Sign(args) = cli.command else {
        panic!("sign")
    };
    let request = SignRequest {
        route: &args.route,
        body: &args.body,
        addr: args.addr,
        now: 5,
    };
    let curl = args.platforms.sign(&request).unwrap();
    assert!(
        curl.contains("-H 'webhook-id: msg_1'") && curl.contains("v1,"),
        "{curl}"
    );
    let request = SignRequest {
        route: "/elsewhere/a",
        ..request
    };
    assert!(
        args.platforms
            .sign(&request)
            .unwrap_err()
            .contains("no platform serves")
    );
}

#[test]
fn the_cli_parses_server_md_flags() {
    let cli = Cli::try_parse_from([
        "app",
        "serve",
        "--addr",
        "127.0.0.1:9000",
        "--stripe-secret",
        "a,b",
        "--deadline-ms",
        "500",
    ])
    .unwrap();
    let Command::Serve(args) = cli.command else {
        panic!("serve")
    };
    assert_eq!(args.addr.port(), 9000);
    assert_eq!(args.platforms.stripe.secrets, ["a", "b"]);
    assert!(!format!("{args:?}").contains('a') || !format!("{args:?}").contains("\"a\""));
    let cli = Cli::try_parse_from(["app", "export", "--out", "dir", "--check"]).unwrap();
    assert!(matches!(
        cli.command,
        Command::Export(ExportArgs { check: true, .. })
    ));
}
