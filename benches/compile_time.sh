#!/usr/bin/env bash
# Compile time of 100 derived actions against the same structs with serde + schemars derives only.
#
# Generates two throwaway crates under a temporary directory (one workspace, so they share one
# target directory and one build of their dependencies): `with_actionkit` (100 structs with
# `#[derive(Action, Deserialize)]`, ~6 fields each incl. a unit enum, options and keywords, and an
# execute handler each) and `with_serde` (the same structs and handlers with
# `#[derive(Serialize, Deserialize, JsonSchema)]` only). Dependencies are built once; then each
# crate is rebuilt ROUNDS times, alternating, after touching its `lib.rs`, so only the crate itself
# is compiled, and the median wall times and their ratio are printed, and the median CPU times
# (user + system, of cargo and rustc) and theirs: on a shared, busy machine the CPU time is the
# steadier figure. Not part of `cargo test`.
#
# Usage: benches/compile_time.sh [--release]
# (ROUNDS=5; the target dir is $COMPILE_TIME_TARGET, else $CARGO_TARGET_DIR/compile_time)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${ROUNDS:-5}
PROFILE_FLAG=${1:-}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
TARGET=${COMPILE_TIME_TARGET:-${CARGO_TARGET_DIR:-$WORK/target}/compile_time}
N=100

cat > "$WORK/Cargo.toml" <<TOML
[workspace]
members = ["with_actionkit", "with_serde"]
resolver = "3"

[workspace.dependencies]
actionkit = { path = "$ROOT" }
schemars = "1"
serde = { version = "1", features = ["derive"] }
serde_json = { version = "1", features = ["preserve_order"] }
TOML
# Same dependency versions as the project.
cp "$ROOT/Cargo.lock" "$WORK/Cargo.lock"

# $1: crate name, $2: derive line, $3: enum derive line, $4: field attributes (1 = actionkit's)
generate() {
  local name=$1 derive=$2 enum_derive=$3 actionkit=$4
  mkdir -p "$WORK/$name/src"
  cat > "$WORK/$name/Cargo.toml" <<TOML
[package]
name = "$name"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
actionkit.workspace = true
schemars.workspace = true
serde.workspace = true
serde_json.workspace = true
TOML
  {
    echo "#![allow(dead_code, unused_imports)]"
    echo "use actionkit::prelude::*;"
    echo "use schemars::JsonSchema;"
    echo "use serde::{Deserialize, Serialize};"
    for i in $(seq 1 $N); do
      local kw="" kw_amount="" kw_email="" kw_tags="" action_attr=""
      if [ "$actionkit" = 1 ]; then
        kw='    #[field(title = "Name", min_length = 1, max_length = 80)]'
        kw_amount='    #[field(minimum = 0, maximum = 100000)]'
        kw_email='    #[field(pattern = "^[^@]+@[^@]+$", multi)]'
        kw_tags='    #[field(max_items = 8)]'
        action_attr="#[action(id = \"action_$i\", name = \"Action $i\", execute = run_$i)]"
      fi
      cat <<RS

/// Priority of action $i.
$enum_derive
#[serde(rename_all = "snake_case")]
pub enum Priority$i { Low, Normal, High }

/// Action number $i.
$derive
$action_attr
pub struct Action$i {
$kw
    pub name: String,
$kw_amount
    pub amount: u32,
    pub priority: Priority$i,
$kw_email
    pub email: Option<String>,
$kw_tags
    pub tags: Vec<String>,
    /// Whether to notify.
    pub notify: Option<bool>,
}

pub async fn run_$i(input: Action$i) -> Result<String, ActionError> {
    Ok(input.name)
}
RS
    done
  } > "$WORK/$name/src/lib.rs"
}

generate with_actionkit \
  "#[derive(Action, Serialize, Deserialize, Debug)]" \
  "#[derive(InputType, Serialize, Deserialize, Debug, Clone, Copy)]" 1
generate with_serde \
  "#[derive(Serialize, Deserialize, JsonSchema, Debug)]" \
  "#[derive(Serialize, Deserialize, JsonSchema, Debug, Clone, Copy)]" 0

cd "$WORK"
echo "compile_time: building dependencies once (target dir $TARGET) ..." >&2
CARGO_TARGET_DIR=$TARGET cargo build $PROFILE_FLAG --quiet -p with_actionkit -p with_serde

# Appends the wall time to $2 and the CPU time (user + system) to $3.
time_build() {
  touch "$WORK/$1/src/lib.rs"
  local start end
  start=$(date +%s.%N)
  /usr/bin/time -f "%U + %S" -o "$WORK/cpu.txt" \
    env CARGO_TARGET_DIR="$TARGET" cargo build $PROFILE_FLAG --quiet -p "$1"
  end=$(date +%s.%N)
  echo "$end - $start" | bc >> "$2"
  bc < "$WORK/cpu.txt" >> "$3"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: > "$WORK/a.txt"; : > "$WORK/s.txt"; : > "$WORK/a_cpu.txt"; : > "$WORK/s_cpu.txt"
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then
    time_build with_actionkit "$WORK/a.txt" "$WORK/a_cpu.txt"
    time_build with_serde "$WORK/s.txt" "$WORK/s_cpu.txt"
  else
    time_build with_serde "$WORK/s.txt" "$WORK/s_cpu.txt"
    time_build with_actionkit "$WORK/a.txt" "$WORK/a_cpu.txt"
  fi
done
A=$(median < "$WORK/a.txt"); S=$(median < "$WORK/s.txt")
AC=$(median < "$WORK/a_cpu.txt"); SC=$(median < "$WORK/s_cpu.txt")
echo "compile_time: $N actions, ${ROUNDS} alternating rebuilds of each crate (${PROFILE_FLAG:-dev profile}), medians:"
echo "  with_actionkit: ${A} s wall, ${AC} s CPU   (wall runs: $(tr '\n' ' ' < "$WORK/a.txt"); CPU runs: $(tr '\n' ' ' < "$WORK/a_cpu.txt"))"
echo "  with_serde:     ${S} s wall, ${SC} s CPU   (wall runs: $(tr '\n' ' ' < "$WORK/s.txt"); CPU runs: $(tr '\n' ' ' < "$WORK/s_cpu.txt"))"
echo "  ratio actionkit / serde+schemars: $(echo "scale=3; $A / $S" | bc)x wall, $(echo "scale=3; $AC / $SC" | bc)x CPU (goal <= 1.2x)"
