//! The code names a revision by the constant of its old file name
//! (`b2_add_account_email.sql`); the file is now `b2_add_account_email_address.sql`.
mod revisions {
    migrate::revisions!("tests/ui/revisions/renamed_file");
}

fn main() {
    let _required: &str = revisions::ADD_ACCOUNT_EMAIL;
}
