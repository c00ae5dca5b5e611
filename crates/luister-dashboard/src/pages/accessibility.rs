//! `/toegankelijkheid`: the accessibility statement Dutch law asks of government
//! websites, internal ones included. Open without signing in.

use super::render;
use crate::auth::SignedIn;
use crate::error::PageError;
use crate::i18n::Lang;
use crate::layout::Layout;
use crate::Dashboard;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

#[derive(Template)]
#[template(path = "accessibility.html")]
struct AccessibilityPage {
    layout: Layout,
}

pub async fn page(
    dash: web::Data<Dashboard>,
    req: HttpRequest,
    who: Option<SignedIn>,
) -> Result<HttpResponse, PageError> {
    let mut layout = Layout::new(&dash, &req, Lang::of(&req).text().accessibility);
    if let Some(who) = who {
        layout.user = Some(who.user.email.clone());
        layout.is_admin = who.user.role == luister_store::UserRole::Admin;
        layout.csrf = who.csrf;
    }
    render(&AccessibilityPage { layout })
}
