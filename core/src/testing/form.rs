//! Form-state sessions: initial load, then one change at a time, each answer checked.

use std::marker::PhantomData;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::{Simulator, now};
use crate::form_state::{Choice, FieldConfig, FormAction, FormField};

/// A form-state session for action `A`, before its initial load.
pub struct FormSession<'s, S, A> {
    sim: &'s Simulator<S>,
    values: Map<String, Value>,
    _action: PhantomData<fn() -> A>,
}

impl<'s, S: Send + Sync + 'static, A: FormAction> FormSession<'s, S, A> {
    pub(super) fn new(sim: &'s Simulator<S>) -> Self {
        FormSession {
            sim,
            values: Map::new(),
            _action: PhantomData,
        }
    }

    /// Starts from saved values (as when someone reopens a configured step).
    pub fn with_value(mut self, field: A::Field, value: impl Into<Value>) -> Self {
        self.values.insert(field.name().to_owned(), value.into());
        self
    }

    /// Starts from values saved in the shape of one of the action's earlier versions
    /// (`saved`, an instance of that version's type): the answer carries them migrated.
    ///
    /// # Panics
    /// When `saved` does not serialise to a JSON object.
    pub fn with_saved(mut self, saved: impl serde::Serialize) -> Self {
        match serde_json::to_value(saved) {
            Ok(Value::Object(values)) => self.values = values,
            _ => panic!("saved values must serialise to a JSON object"),
        }
        self
    }

    /// The initial load (`changed_field: null`).
    pub async fn load(self) -> FormView<'s, S, A> {
        FormView::fetch(self.sim, self.values, None).await
    }
}

/// One answer of the form-state session, checked against the contract: one config entry per
/// dynamic field of `A`, each with `options` and `schema`.
pub struct FormView<'s, S, A> {
    sim: &'s Simulator<S>,
    values: Map<String, Value>,
    config: Map<String, Value>,
    elapsed: Duration,
    _action: PhantomData<fn() -> A>,
}

impl<S, A> std::fmt::Debug for FormView<'_, S, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormView")
            .field("values", &self.values)
            .field("config", &self.config)
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

impl<'s, S: Send + Sync + 'static, A: FormAction> FormView<'s, S, A> {
    async fn fetch(
        sim: &'s Simulator<S>,
        values: Map<String, Value>,
        changed: Option<A::Field>,
    ) -> Self {
        let request = std::iter::once(sim.playing())
            .chain(&sim.played)
            .find_map(|p| {
                p.simulation
                    .form_state(A::ID, &values, changed.map(|f| f.name()), now())
            })
            .expect("no simulated platform has form state");
        let started = Instant::now();
        let (status, _, answer) = sim.send(request).await;
        let elapsed = started.elapsed();
        assert_eq!(
            status,
            200,
            "get_form_state of `{}` answered {status}: {answer}",
            A::ID
        );
        let values = answer
            .get("values")
            .and_then(Value::as_object)
            .cloned()
            .expect("`values` in every answer");
        let config = answer
            .get("config")
            .and_then(Value::as_object)
            .cloned()
            .expect("`config` in every answer");
        let dynamic: Vec<&str> = A::fields()
            .iter()
            .filter(|f| f.ui.is_dynamic())
            .map(|f| f.name)
            .collect();
        let conditional: Vec<&str> = A::conditions().iter().map(|c| c.field).collect();
        let keys: Vec<&str> = config
            .keys()
            .map(String::as_str)
            .filter(|key| dynamic.contains(key))
            .collect();
        assert_eq!(
            keys,
            dynamic,
            "the config must hold every dynamic field of `{}`, in order",
            A::ID
        );
        for key in config.keys() {
            assert!(
                dynamic.contains(&key.as_str()) || conditional.contains(&key.as_str()),
                "the config of `{}` holds `{key}`, which is neither dynamic nor conditional",
                A::ID
            );
        }
        for (name, entry) in &config {
            if let Err(e) = serde_json::from_value::<FieldConfig>(entry.clone()) {
                panic!("the config of `{name}` breaks the contract ({e}): {entry}");
            }
            assert!(
                entry.get("options").is_some() && entry.get("schema").is_some(),
                "`{name}` lacks options or schema"
            );
        }
        FormView {
            sim,
            values,
            config,
            elapsed,
            _action: PhantomData,
        }
    }

    /// Changes `field` to `value` and fetches the next answer (`changed_field` = the field).
    pub async fn set(self, field: A::Field, value: impl Into<Value>) -> FormView<'s, S, A> {
        let mut values = self.values;
        values.insert(field.name().to_owned(), value.into());
        FormView::fetch(self.sim, values, Some(field)).await
    }

    /// How long this answer took, request sent to answer read (over real HTTP): compare it with
    /// the form-state budget (400 ms by default) and the platforms' 500 ms target.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The config entry of a dynamic or conditional field.
    ///
    /// # Panics
    /// When `field` is neither dynamic nor conditional (`visible_when` / `enabled_when`).
    pub fn config(&self, field: A::Field) -> FieldConfig {
        match self.config.get(field.name()) {
            Some(entry) => serde_json::from_value(entry.clone()).expect("checked when fetched"),
            // A conditional field whose conditions hold has no entry: shown and editable.
            None if A::conditions().iter().any(|c| c.field == field.name()) => {
                FieldConfig::default()
            }
            None => panic!(
                "`{}` is neither a dynamic nor a conditional field",
                field.name()
            ),
        }
    }

    /// The dropdown entries of a dynamic field.
    pub fn options(&self, field: A::Field) -> Vec<Choice> {
        self.config(field).options
    }

    /// The current value of a field, if set.
    pub fn value(&self, field: A::Field) -> Option<&Value> {
        self.values.get(field.name()).filter(|v| !v.is_null())
    }

    /// All current values.
    pub fn values(&self) -> &Map<String, Value> {
        &self.values
    }
}
