//! Who may do what (the crate docs' "Visibility and rights"), as one table:
//! every operation, by the role of the user, by dialog type. Each cell runs on a fresh store: an
//! allowed operation succeeds and has its effect; a refused one fails with its code and changes
//! nothing (`debug_dump` is the same before and after).
//!
//! Roles: the owner (creator, `user_id`), an admin (`admin_ids`; in a group also an occupant), an
//! occupant (in a private dialog, the other user), and an outsider (an occupant of nothing here;
//! for a public dialog, which has no occupants, a stranger who may still read and post).

mod common;

use common::*;
use dialogstore::{
    CustomData, DataValue, DialogId, DialogStore, DialogUpdate, Error, NewDialog, Query, UserId,
};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Public,
    Group,
    Private,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Role {
    Owner,
    Admin,
    Occupant,
    Outsider,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Op {
    Get,
    Rename,
    Photo,
    Data,
    PushOccupant,
    PullSelf,
    PullOther,
    PushAdmin,
    PullAdmin,
    Leave,
    ForceDelete,
    Message,
    MarkRead,
    /// The dialog is in the user's `list_dialogs`.
    Listed,
}

/// What a cell expects.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Want {
    Ok,
    Err(&'static str),
    /// `Listed` only: the dialog is not in the user's list.
    Hidden,
    /// The role does not exist for this type (no admin of a private dialog, no occupant of a
    /// public one).
    Na,
}

const OK: Want = Want::Ok;
const ACCESS: Want = Want::Err("ACCESS_ERROR");
const PERM: Want = Want::Err("WRONG_PERMISSIONS");
const INVALID: Want = Want::Err("VALIDATION");
const HIDDEN: Want = Want::Hidden;
const NA: Want = Want::Na;

const KINDS: [Kind; 3] = [Kind::Public, Kind::Group, Kind::Private];
const ROLES: [Role; 4] = [Role::Owner, Role::Admin, Role::Occupant, Role::Outsider];

/// The matrix. Columns: owner, admin, occupant, outsider; for public, group and private dialogs.
#[rustfmt::skip]
const MATRIX: &[(Op, [[Want; 4]; 3])] = &[
    //                   public                           group                     private
    (Op::Get,          [[OK, OK, NA, OK],                [OK, OK, OK, ACCESS],     [OK, NA, OK, ACCESS]]),
    // The name of a private dialog is ignored: the call succeeds and changes nothing.
    (Op::Rename,       [[OK, OK, NA, PERM],              [OK, OK, OK, ACCESS],     [OK, NA, OK, ACCESS]]),
    (Op::Photo,        [[OK, OK, NA, PERM],              [OK, OK, OK, ACCESS],     [OK, NA, OK, ACCESS]]),
    (Op::Data,         [[OK, OK, NA, PERM],              [OK, OK, OK, ACCESS],     [OK, NA, OK, ACCESS]]),
    // A public dialog has no occupants to add or remove: a VALIDATION error for anyone.
    (Op::PushOccupant, [[INVALID, INVALID, NA, INVALID], [OK, OK, OK, ACCESS],     [PERM, NA, PERM, ACCESS]]),
    (Op::PullSelf,     [[INVALID, INVALID, NA, INVALID], [OK, OK, OK, ACCESS],     [PERM, NA, PERM, ACCESS]]),
    (Op::PullOther,    [[INVALID, INVALID, NA, INVALID], [OK, OK, PERM, ACCESS],   [PERM, NA, PERM, ACCESS]]),
    (Op::PushAdmin,    [[OK, OK, NA, PERM],              [OK, OK, PERM, ACCESS],   [PERM, NA, PERM, ACCESS]]),
    (Op::PullAdmin,    [[OK, OK, NA, PERM],              [OK, OK, PERM, ACCESS],   [PERM, NA, PERM, ACCESS]]),
    // A public dialog cannot be left; its owner deletes it with force.
    (Op::Leave,        [[PERM, PERM, NA, PERM],          [OK, OK, OK, ACCESS],     [OK, NA, OK, ACCESS]]),
    (Op::ForceDelete,  [[OK, PERM, NA, PERM],            [OK, PERM, PERM, ACCESS], [OK, NA, PERM, ACCESS]]),
    (Op::Message,      [[OK, OK, NA, OK],                [OK, OK, OK, ACCESS],     [OK, NA, OK, ACCESS]]),
    (Op::MarkRead,     [[OK, OK, NA, OK],                [OK, OK, OK, ACCESS],     [OK, NA, OK, ACCESS]]),
    (Op::Listed,       [[OK, OK, NA, OK],                [OK, OK, OK, HIDDEN],     [OK, NA, OK, HIDDEN]]),
];

// The cast of every cell.
const OWNER_U: UserId = UserId(1);
const ADMIN_U: UserId = UserId(2);
const OCCUPANT_U: UserId = UserId(3);
/// A group's other occupant: whom "pull other" removes and "push admin" promotes.
const OTHER_U: UserId = UserId(4);
/// Whom "push occupant" adds.
const NEW_U: UserId = UserId(5);
const OUTSIDER_U: UserId = UserId(9);

fn user(role: Role) -> UserId {
    match role {
        Role::Owner => OWNER_U,
        Role::Admin => ADMIN_U,
        Role::Occupant => OCCUPANT_U,
        Role::Outsider => OUTSIDER_U,
    }
}

/// A fresh store with one dialog of `kind`, its admin set, and unread messages for everyone
/// who can have them.
fn fixture(kind: Kind) -> (Env, DialogId) {
    let env = Env::new();
    let d = match kind {
        Kind::Public => env.public(OWNER_U),
        Kind::Group => env.group(OWNER_U, &[ADMIN_U, OCCUPANT_U, OTHER_U]),
        Kind::Private => env.private(OWNER_U, OCCUPANT_U),
    };
    if kind != Kind::Private {
        env.update_dialog(OWNER_U, d.id, DialogUpdate::default().push_admins([ADMIN_U]))
            .expect("make the admin");
    }
    let (first, second) =
        if kind == Kind::Group { (OTHER_U, OWNER_U) } else { (OWNER_U, OCCUPANT_U) };
    env.post(d.id, first, "fixture-1", T0);
    if kind != Kind::Public {
        env.post(d.id, second, "fixture-2", T0 + 1);
    }
    env.tick(60);
    (env, d.id)
}

/// The user an operation acts on besides the caller.
fn target(op: Op, kind: Kind, u: UserId) -> UserId {
    match (op, kind) {
        (Op::PullAdmin, Kind::Private) => OCCUPANT_U,
        (Op::PullAdmin, _) => ADMIN_U,
        (_, Kind::Private) if u == OWNER_U => OCCUPANT_U,
        (_, Kind::Private) => OWNER_U,
        _ => OTHER_U,
    }
}

fn run(store: &DialogStore, op: Op, kind: Kind, u: UserId, id: DialogId) -> Result<(), Error> {
    let update = |upd: DialogUpdate| store.update_dialog(u, id, upd).map(drop);
    let other = target(op, kind, u);
    match op {
        Op::Get => store.get(u, id).map(drop),
        Op::Rename => update(DialogUpdate::default().name("Renamed")),
        Op::Photo => update(DialogUpdate::default().photo("photo-2")),
        Op::Data => update(
            DialogUpdate::default()
                .data(CustomData::new("Perm").field("x", DataValue::String("1".into()))),
        ),
        Op::PushOccupant => update(DialogUpdate::default().push_occupants([NEW_U])),
        Op::PullSelf => update(DialogUpdate::default().pull_occupants([u])),
        Op::PullOther => update(DialogUpdate::default().pull_occupants([other])),
        Op::PushAdmin => update(DialogUpdate::default().push_admins([other])),
        Op::PullAdmin => update(DialogUpdate::default().pull_admins([other])),
        Op::Leave => store.delete_dialogs(u, &[id], false),
        Op::ForceDelete => store.delete_dialogs(u, &[id], true),
        Op::Message => store.record_message(id, u, msg("perm-msg", "hello", T0 + 100)),
        Op::MarkRead => store.mark_read(id, u),
        Op::Listed => unreachable!("Listed is not a call"),
    }
}

/// Whether an allowed operation changes the store at all.
fn changes(op: Op, kind: Kind) -> bool {
    match op {
        Op::Get | Op::Listed => false,
        Op::Rename => kind != Kind::Private,
        // Nobody has unread messages in a public dialog.
        Op::MarkRead => kind != Kind::Public,
        _ => true,
    }
}

/// The effect an allowed operation must have had, read back through the public API.
fn effect(store: &DialogStore, op: Op, kind: Kind, u: UserId, id: DialogId) -> Result<(), String> {
    let read = |viewer: UserId| store.get(viewer, id).map_err(|e| format!("read back: {e}"));
    let gone_for = |viewer: UserId, code: &str| match store.get(viewer, id) {
        Err(e) if e.code() == code => Ok(()),
        other => Err(format!("{viewer} still reads it: {other:?}")),
    };
    let other = target(op, kind, u);
    let ok = |cond: bool, what: &str| if cond { Ok(()) } else { Err(what.to_owned()) };
    match op {
        Op::Get | Op::Listed => Ok(()),
        Op::Rename => {
            let name = read(u)?.name;
            let want = if kind == Kind::Private { None } else { Some("Renamed".to_owned()) };
            ok(name == want.map(Into::into), "the name")
        }
        Op::Photo => ok(read(u)?.photo.as_deref() == Some("photo-2"), "the photo"),
        Op::Data => ok(read(u)?.data.is_some_and(|d| d.class_name == "Perm"), "the data"),
        Op::PushOccupant => ok(read(u)?.occupants_ids.contains(&NEW_U), "the new occupant"),
        Op::PullSelf | Op::Leave => gone_for(u, "ACCESS_ERROR"),
        Op::PullOther => ok(!read(u)?.occupants_ids.contains(&other), "the removed occupant"),
        Op::PushAdmin => ok(read(u)?.admin_ids.contains(&other), "the new admin"),
        Op::PullAdmin => ok(!read(u)?.admin_ids.contains(&other), "the removed admin"),
        Op::ForceDelete => gone_for(OWNER_U, "NOT_FOUND"),
        Op::Message => ok(read(u)?.last_message_id.as_deref() == Some("perm-msg"), "the message"),
        Op::MarkRead => ok(read(u)?.unread_messages_count == Some(0), "the unread count"),
    }
}

/// Runs one cell on a fresh store; `Err` says how it differs from `want`.
fn cell(op: Op, kind: Kind, role: Role, want: Want) -> Result<(), String> {
    let (env, id) = fixture(kind);
    let u = user(role);
    if op == Op::Listed {
        let all: Query = "limit=100".parse().expect("query");
        let page = env.list_dialogs(u, &all).map_err(|e| format!("list_dialogs: {e}"))?;
        let listed = page.items.iter().any(|d| d.id == id);
        return match (want, listed) {
            (Want::Ok, true) | (Want::Hidden, false) => Ok(()),
            _ => Err(format!("listed: {listed}")),
        };
    }
    let before = env.debug_dump().expect("dump");
    let out = run(&env, op, kind, u, id);
    let changed = env.debug_dump().expect("dump") != before;
    match (want, out) {
        (Want::Ok, Ok(())) if changed != changes(op, kind) => {
            Err(format!("succeeded, but changed the store: {changed}"))
        }
        (Want::Ok, Ok(())) => effect(&env, op, kind, u, id),
        (Want::Err(code), Err(e)) if e.code() == code && !changed => Ok(()),
        (Want::Err(_), Err(e)) if changed => Err(format!("refused ({e}) but changed the store")),
        (_, out) => Err(format!("{out:?}")),
    }
}

#[test]
fn every_operation_by_every_role_on_every_type() {
    let mut failures = Vec::new();
    let mut cells = 0;
    for (op, row) in MATRIX {
        for (k, kind) in KINDS.iter().enumerate() {
            for (r, role) in ROLES.iter().enumerate() {
                let want = row[k][r];
                if want == NA {
                    continue;
                }
                cells += 1;
                if let Err(why) = cell(*op, *kind, *role, want) {
                    failures
                        .push(format!("{op:?} on {kind:?} by {role:?}: want {want:?}, got {why}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cells, 14 * 12 - 14 * 2, "every cell but the roles a type lacks");
}

/// Roles the matrix leaves out because a type has no such member stay out: a private dialog has
/// no admins to be, a public one no occupants.
#[test]
fn no_admin_of_a_private_dialog_and_no_occupant_of_a_public_one() {
    let (env, private) = fixture(Kind::Private);
    assert!(env.get(OWNER_U, private).unwrap().admin_ids.is_empty());
    let (env, public) = fixture(Kind::Public);
    assert!(env.get(OWNER_U, public).unwrap().occupants_ids.is_empty());
    let new = NewDialog::public("News").occupants([OCCUPANT_U]);
    assert_refused(&env, "VALIDATION", || env.create_dialog(OWNER_U, new));
}
