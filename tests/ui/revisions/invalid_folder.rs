//! A folder with problems: `revisions!` reports them as `embed_migrations!`
//! does, on the literal, and still defines `HEAD`, so nothing else fails.
mod revisions {
    migrate::revisions!("tests/ui/graph/cycle");
}

const HEAD: &str = revisions::HEAD;

fn main() {
    let _ = HEAD;
}
