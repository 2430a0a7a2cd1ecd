//! Extractive question answering (SQuAD 2.0): questions and contexts as model windows, and the logits of
//! the windows back to answer text.
//!
//! ```text
//! SquadQuestion ──ContextTokens::new + encode_question──► QaWindow… ([CLS] q [SEP] context part [SEP],
//!     (readers::squad)                                      offsets, start/end target or [CLS])
//! start/end logits of a question's windows ──decode_answer──► best span vs null score → answer text,
//!                                                             character offsets, no-answer probability
//! ```
//!
//! Both follow transformers' `run_qa.py` example (`prepare_train_features`, `prepare_validation_features`,
//! `postprocess_qa_predictions`); the module docs list the few edge cases that differ.
pub mod decode;
pub mod windows;

pub use decode::{decode_answer, DecodeOptions, Decoded, Span, WindowScores};
pub use windows::{encode_question, ContextTokens, EncodedQuestion, QaWindow, WindowOptions};
