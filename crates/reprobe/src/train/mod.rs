//! Training and evaluating a coreference model: data → model → loop → checkpoints → scores.
pub mod checkpoint;
pub mod data;
pub mod evaluate;
pub mod fit;
pub mod load;
pub mod model;
