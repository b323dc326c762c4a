//! A revision's declared variables: `-- migrate:var [secret] NAME [= default]`
//! lines read into its header, and every `${NAME}` its sections use checked
//! against them (the substitution itself is [`crate::sql::vars`]).

use super::{Ctxt, Header, Sections, Syntax, section_text};
use crate::diagnostic::DiagnosticKind;
use crate::sql::vars::{DECLARATION_HELP, Variable, declaration, undeclared};

/// The text after `migrate:var` when `name` (a directive's text after
/// `migrate:`) is a declaration.
pub(super) fn declaration_text(name: &str) -> Option<&str> {
    name.strip_prefix("var")
        .filter(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
}

impl Header<'_> {
    /// `-- migrate:var <text>` on line `n`.
    pub(super) fn var(&mut self, cx: &mut Ctxt<'_>, n: usize, text: &str) {
        let problem = if cx.syntax == Syntax::Rust {
            Some((
                "`-- migrate:var` in a Rust revision".to_owned(),
                "a Rust revision has no SQL to substitute a variable in: read the value in its code".to_owned(),
            ))
        } else if self.upgrade_start.is_some() {
            Some((
                "`-- migrate:var` must be in the header".to_owned(),
                "move it above `-- migrate:upgrade`".to_owned(),
            ))
        } else {
            match declaration(text) {
                Ok(var) if self.vars.iter().any(|v: &Variable| v.name() == var.name()) => Some((
                    format!("second declaration of the variable `{}`", var.name()),
                    "keep one".to_owned(),
                )),
                Ok(var) => {
                    self.vars.push(var);
                    None
                }
                Err(message) => Some((message, DECLARATION_HELP.to_owned())),
            }
        };
        if let Some((message, help)) = problem {
            cx.error(DiagnosticKind::BadHeader, n, message, &help);
        }
    }
}

/// Every `${NAME}` of the sections that every reading would substitute
/// must name a declared variable; under `-- migrate:no-variables` (SQL
/// written for a tool that replaces nothing) none is replaced, and none may
/// be declared.
pub(super) fn check_uses(cx: &mut Ctxt<'_>, header: &Header<'_>, lines: &[&str], sections: &Sections) {
    if let Some(n) = header.no_variables {
        if !header.vars.is_empty() {
            cx.error(
                DiagnosticKind::BadHeader,
                n,
                "`-- migrate:no-variables` in a revision that declares variables".to_owned(),
                "a revision either replaces its `${…}` or keeps every one as written: remove this line or the `-- migrate:var` lines",
            );
        }
        return;
    }
    let declared: Vec<&str> = header.vars.iter().map(Variable::name).collect();
    for (name, (from, to)) in sections.named() {
        let text = section_text(lines, (from, to));
        for (var, line) in undeclared(&text, &declared) {
            cx.error(
                DiagnosticKind::BadHeader,
                from + 1 + line,
                format!("`${{{var}}}` in the {name} section names no declared variable"),
                &format!(
                    "declare it in the header (`-- migrate:var {var}`, with `= default` or `secret` as needed), or, if the text is meant literally, put `-- migrate:no-variables` in the header (nothing in the file is then replaced) or move it into a comment or a dollar-quoted body"
                ),
            );
        }
    }
}
