//! `revisions!`: a constant a revision, named from its file, usable in const context.
static MIGRATIONS: migrate::Migrations = migrate::embed_migrations!("tests/ui/pass/revisions");

mod revisions {
    migrate::revisions!("tests/ui/pass/revisions");
}

const HEAD: &str = revisions::HEAD;

fn main() {
    assert_eq!(revisions::CREATE_ACCOUNTS, "a1");
    // Two files with one slug: each name gets its id.
    assert_eq!(revisions::ADD_EMAIL_B2, "b2");
    assert_eq!(revisions::ADD_EMAIL_C3, "c3");
    // A slug that would be `HEAD`, and one that starts with a digit.
    assert_eq!(revisions::HEAD_M4, "m4");
    assert_eq!(revisions::REVISION_E6, "e6");
    assert_eq!(HEAD, "e6");
    assert_eq!(MIGRATIONS.head(), Some(HEAD));
}
