//! Splits a migration's SQL into statements, for migrations that run
//! outside a transaction and so must be sent one statement at a time: core's
//! [`migrate_core::sql::split`], on the one lexer ([`migrate_core::sql::lex`]),
//! re-exported where the runtime and its users have always found it.

pub use migrate_core::sql::split::{Statement, commits_implicitly, needs_terminator, statements};
