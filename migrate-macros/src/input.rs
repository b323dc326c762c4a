//! The macro's input: one string literal, resolved against `CARGO_MANIFEST_DIR`.

use std::path::PathBuf;
use syn::LitStr;
use syn::parse::{Parse, ParseStream};

pub struct Input {
    /// The literal, for spans.
    pub lit: LitStr,
    /// The folder on disk.
    pub dir: PathBuf,
    /// The folder as written, used in messages (`migrations/0001_x.sql`).
    pub shown_as: String,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(input.error("expected the migrations folder, e.g. `embed_migrations!(\"migrations\")`"));
        }
        let lit: LitStr = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected a string literal naming the migrations folder, e.g. `\"migrations\"`",
            )
        })?;
        let _: Option<syn::Token![,]> = input.parse()?;
        if !input.is_empty() {
            return Err(input.error("unexpected tokens: `embed_migrations!` takes one string literal"));
        }
        let shown_as = lit.value();
        let root = std::env::var_os("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .unwrap_or_default();
        let dir = root.join(&shown_as);
        Ok(Input { lit, dir, shown_as })
    }
}
