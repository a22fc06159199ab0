//! [`Extensions`]: the typed extras a platform hands its handlers (Stripe's `context`, epilot's
//! event and callback), one value per type.

use std::any::Any;
use std::fmt;

/// Typed extras of a call, read by handlers with [`Context::extension`](crate::Context::extension).
///
/// One value per type; inserting a second value of a type replaces the first. Made for the one
/// or two values a platform sets per call: a single extra costs one allocation.
///
/// ```
/// use actionkit_core::Extensions;
/// #[derive(Clone, Debug, PartialEq)]
/// struct Workflow(&'static str);
///
/// let mut extensions = Extensions::new();
/// assert_eq!(extensions.insert(Workflow("wf_1")), None);
/// assert_eq!(extensions.insert(Workflow("wf_2")), Some(Workflow("wf_1")));
/// assert_eq!(extensions.get::<Workflow>(), Some(&Workflow("wf_2")));
/// assert_eq!(extensions.get::<u8>(), None);
/// assert_eq!(extensions.len(), 1);
/// ```
#[derive(Clone, Default)]
pub struct Extensions {
    items: Items,
}

#[derive(Clone, Default)]
enum Items {
    #[default]
    None,
    One(Box<dyn Extension>),
    Many(Vec<Box<dyn Extension>>),
}

trait Extension: Any + Send + Sync {
    fn clone_box(&self) -> Box<dyn Extension>;
    fn as_any(&self) -> &dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}

impl<T: Clone + Send + Sync + 'static> Extension for T {
    fn clone_box(&self) -> Box<dyn Extension> {
        Box::new(self.clone())
    }

    fn as_any(&self) -> &dyn Any {
        self
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

impl Clone for Box<dyn Extension> {
    fn clone(&self) -> Self {
        (**self).clone_box()
    }
}

impl Extensions {
    /// No extras.
    pub fn new() -> Self {
        Extensions::default()
    }

    /// Adds `value`, giving back the value of its type that was there before, if any.
    pub fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) -> Option<T> {
        let value: Box<dyn Extension> = Box::new(value);
        let old = match std::mem::take(&mut self.items) {
            Items::None => {
                self.items = Items::One(value);
                return None;
            }
            Items::One(first) if (*first).as_any().is::<T>() => {
                self.items = Items::One(value);
                first
            }
            Items::One(first) => {
                self.items = Items::Many(vec![first, value]);
                return None;
            }
            Items::Many(mut all) => {
                let slot = all.iter_mut().find(|item| (***item).as_any().is::<T>());
                let old = match slot {
                    Some(slot) => std::mem::replace(slot, value),
                    None => {
                        all.push(value);
                        self.items = Items::Many(all);
                        return None;
                    }
                };
                self.items = Items::Many(all);
                old
            }
        };
        old.into_any().downcast::<T>().ok().map(|old| *old)
    }

    /// The value of type `T`, if one was inserted.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        let items: &[Box<dyn Extension>] = match &self.items {
            Items::None => &[],
            Items::One(item) => std::slice::from_ref(item),
            Items::Many(all) => all,
        };
        items
            .iter()
            .find_map(|item| (**item).as_any().downcast_ref::<T>())
    }

    /// Takes the value of type `T` out, if one was inserted.
    ///
    /// ```
    /// let mut extensions = actionkit_core::Extensions::new();
    /// extensions.insert(7u32);
    /// assert_eq!(extensions.remove::<u32>(), Some(7));
    /// assert!(extensions.is_empty());
    /// ```
    pub fn remove<T: 'static>(&mut self) -> Option<T> {
        let taken = match std::mem::take(&mut self.items) {
            Items::None => None,
            Items::One(item) if (*item).as_any().is::<T>() => Some(item),
            Items::One(item) => {
                self.items = Items::One(item);
                None
            }
            Items::Many(mut all) => {
                let at = all.iter().position(|item| (**item).as_any().is::<T>());
                let taken = at.map(|at| all.remove(at));
                self.items = Items::Many(all);
                taken
            }
        };
        taken?.into_any().downcast::<T>().ok().map(|value| *value)
    }

    /// How many extras there are.
    pub fn len(&self) -> usize {
        match &self.items {
            Items::None => 0,
            Items::One(_) => 1,
            Items::Many(all) => all.len(),
        }
    }

    /// Whether there are none.
    ///
    /// ```
    /// assert!(actionkit_core::Extensions::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Extensions {
    /// The count only: extras may hold tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Extensions")
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Extensions;

    #[test]
    fn many_types_each_keep_one_value_and_clones_are_deep() {
        let mut extensions = Extensions::new();
        assert_eq!(extensions.insert(1u8), None);
        assert_eq!(extensions.insert("a".to_owned()), None);
        assert_eq!(extensions.insert(2u16), None);
        assert_eq!(extensions.insert(3u8), Some(1));
        assert_eq!(extensions.insert("b".to_owned()), Some("a".to_owned()));
        assert_eq!(extensions.len(), 3);
        let copy = extensions.clone();
        assert_eq!(extensions.insert(4u16), Some(2));
        assert_eq!(copy.get::<u16>(), Some(&2));
        assert_eq!(extensions.get::<u16>(), Some(&4));
        assert_eq!(copy.get::<String>().map(String::as_str), Some("b"));
        assert_eq!(format!("{copy:?}"), "Extensions { len: 3 }");
        assert_eq!(extensions.remove::<u8>(), Some(3));
        assert_eq!(extensions.remove::<u8>(), None);
        assert_eq!(extensions.len(), 2);
    }
}
