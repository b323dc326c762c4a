//! Internal crate of [`migrate`](https://docs.rs/migrate): the
//! `embed_migrations!`, `revisions!` and `#[test]` proc macros. Use them
//! through `migrate::embed_migrations!`, `migrate::revisions!` and `#[migrate::test]`.
//!
//! The macro is a pipeline: [`input`] reads the path literal and resolves
//! it against the crate, `migrate_core::load` reads and validates the
//! folder (the same code `migrate check` runs), and [`expand`] writes the
//! tokens. It never panics: every problem becomes a `compile_error!` on the
//! path literal, followed by an empty list so no other error cascades.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

use proc_macro::TokenStream;

mod constants;
mod expand;
mod input;
mod rust;
mod test;

/// Embeds the migrations folder `dir` (relative to the crate's
/// `Cargo.toml`) as a checked, ordered, checksummed `migrate::Migrations`.
#[proc_macro]
pub fn embed_migrations(tokens: TokenStream) -> TokenStream {
    let input = match syn::parse::<input::Input>(tokens) {
        Ok(input) => input,
        Err(e) => return expand::fallback(e.to_compile_error()).into(),
    };
    match migrate_core::load::load_with_repeatables(&input.dir, &input.shown_as) {
        Ok((migrations, repeatables)) => expand::migrations(&input, &migrations, &repeatables).into(),
        Err(diagnostics) => expand::errors(&input, &diagnostics).into(),
    }
}

/// Defines one `pub const NAME: &str` a revision of the migrations folder
/// `dir` (relative to the crate's `Cargo.toml`), named from its file name
/// (`a2_add_account_email.sql`: `ADD_ACCOUNT_EMAIL = "a2"`), and `HEAD`,
/// after the same validation as `embed_migrations!`. Written inside a module.
#[proc_macro]
pub fn revisions(tokens: TokenStream) -> TokenStream {
    let input = match syn::parse::<input::Input>(tokens) {
        Ok(input) => input,
        Err(e) => return constants::fallback(e.to_compile_error()).into(),
    };
    match migrate_core::load::load_dir(&input.dir, &input.shown_as) {
        Ok(migrations) => constants::items(&migrations).into(),
        Err(diagnostics) => constants::errors(&input, &diagnostics).into(),
    }
}

/// Runs an `async fn` test on a fresh database with the crate's migrations
/// applied, given as its one argument (a pool or connection of SQLite,
/// PostgreSQL or MySQL/MariaDB). `migrations = PATH` names the
/// `migrate::Migrations` static (default: `crate::MIGRATIONS`). Written
/// above `#[tokio::test(…)]`, it runs under that runtime. See the "Testing"
/// section of `migrate`'s crate documentation.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = match syn::parse::<test::Args>(args) {
        Ok(args) => args,
        Err(e) => {
            let errors = e.to_compile_error();
            let item = proc_macro2::TokenStream::from(item);
            return quote::quote!(#errors #[allow(dead_code)] #item).into();
        }
    };
    match syn::parse::<syn::ItemFn>(item.clone()) {
        Ok(function) => test::expand(&args, function).into(),
        Err(_) => {
            let item = proc_macro2::TokenStream::from(item);
            let error = syn::Error::new(
                proc_macro2::Span::call_site(),
                "`#[migrate::test]` goes on an `async fn` test",
            )
            .to_compile_error();
            quote::quote!(#error #item).into()
        }
    }
}
