//! Error analysis of one sentence's predicted entities against its key.
//!
//! An entity is right when the other side has the same span with the same type (seqeval's exact match).
//! Otherwise, looking at the other side's entities:
//!
//! - **wrong type**: one of them has the same span with another type;
//! - **wrong boundary**: one of them overlaps it with another span;
//! - **missed** (a key entity) or **spurious** (a predicted one): none of them overlaps it.
use reprobe_metrics::ner::Entity;

/// What is wrong with one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityError {
    /// A key entity that no predicted entity overlaps.
    Missed,
    /// A predicted entity that overlaps no key entity.
    Spurious,
    /// The other side has this span with another type.
    WrongType,
    /// The other side has an overlapping entity with other boundaries.
    WrongBoundary,
}

/// The errors of `entities` (one side of a sentence) against `other` (the other side); `absent` is the
/// error of an entity nothing overlaps: [`EntityError::Missed`] for key entities, [`EntityError::Spurious`]
/// for predicted ones.
pub fn classify(
    entities: &[Entity],
    other: &[Entity],
    absent: EntityError,
) -> Vec<Option<EntityError>> {
    entities
        .iter()
        .map(|e| {
            let same_span = |o: &&Entity| o.start == e.start && o.end == e.end;
            if other.iter().any(|o| o == e) {
                None
            } else if other.iter().any(|o| same_span(&o)) {
                Some(EntityError::WrongType)
            } else if other.iter().any(|o| o.start <= e.end && e.start <= o.end) {
                Some(EntityError::WrongBoundary)
            } else {
                Some(absent)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use EntityError::*;

    fn entity(kind: &str, start: usize, end: usize) -> Entity {
        Entity {
            kind: kind.into(),
            start,
            end,
        }
    }

    /// The viewer's NER fixture (tests/fixtures/view/ner_key.bio, ner_pred.bio), first sentence:
    /// "Alice visited Paris and Berlin with Bob Smith ." with key PER 0, LOC 2, LOC 4, PER 6-7 and
    /// prediction PER 0 (right), ORG 2 (wrong type), nothing at 4 (missed), MISC 5 (spurious),
    /// PER 6 (wrong boundary).
    #[test]
    fn each_kind_of_error_once() {
        let key = [
            entity("PER", 0, 0),
            entity("LOC", 2, 2),
            entity("LOC", 4, 4),
            entity("PER", 6, 7),
        ];
        let predicted = [
            entity("PER", 0, 0),
            entity("ORG", 2, 2),
            entity("MISC", 5, 5),
            entity("PER", 6, 6),
        ];
        assert_eq!(
            classify(&key, &predicted, Missed),
            vec![None, Some(WrongType), Some(Missed), Some(WrongBoundary)]
        );
        assert_eq!(
            classify(&predicted, &key, Spurious),
            vec![None, Some(WrongType), Some(Spurious), Some(WrongBoundary)]
        );
    }

    #[test]
    fn same_span_with_another_type_beats_an_overlap() {
        let key = [entity("LOC", 1, 2), entity("ORG", 2, 3)];
        let predicted = [entity("PER", 1, 2)];
        assert_eq!(classify(&predicted, &key, Spurious), vec![Some(WrongType)]);
        assert_eq!(
            classify(&key, &predicted, Missed),
            vec![Some(WrongType), Some(WrongBoundary)]
        );
    }
}
