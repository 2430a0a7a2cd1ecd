//! CoNLL-2012 coreference metrics with the semantics of the official reference scorer v8.01.
#![deny(missing_docs)]
