//! Training any task: the shared backbone (tokenizer, encoder stack, parameters), the one training loop,
//! checkpoints, and loading a trained model back.
pub mod backbone;
pub mod checkpoint;
pub mod dev_run;
pub mod fit;
pub mod load;
