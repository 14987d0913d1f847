//! Query strings parse to the AST they mean: every query QuickBlox's docs write
//! (the list-dialogs page, the create-dialog page's custom data), then the forms around
//! them: RFC 3339 times, percent-encoding, `+`, repeated conditions, a leading `?`, and the
//! canonical strings they print as.

use dialogstore::{Condition, Direction, Field, Op, Query, Scalar, Sort, Span, Value};
use dialogstore::{DialogId, DialogType, UserId};

fn parse(s: &str) -> Query {
    s.parse::<Query>().unwrap_or_else(|e| panic!("{s:?} should parse: {}", e.render(s)))
}

/// The query's only condition, checked to carry the span of the whole string.
fn only_condition(s: &str) -> Condition {
    let q = parse(s);
    assert_eq!(q.conditions.len(), 1, "{s}");
    let c = q.conditions[0].clone();
    assert_eq!(c.span, Some(Span::new(0, s.len())), "{s}");
    c
}

/// Checks that `s` is the one condition `field[op]=value`.
fn assert_condition(s: &str, field: Field, op: Op, value: Value) {
    let c = only_condition(s);
    assert_eq!(c.field, field, "{s}");
    assert_eq!(c.op, op, "{s}");
    assert_eq!(c.value, value, "{s}");
}

fn time(t: i64) -> Scalar {
    Scalar::Time(t)
}

fn text(s: &str) -> Scalar {
    Scalar::Str(s.to_owned())
}

fn user(u: u64) -> Scalar {
    Scalar::User(UserId(u))
}

/// Checks the query has no conditions and only the given settings differ from the defaults.
fn assert_settings(
    q: &Query,
    sort: Option<Sort>,
    skip: u32,
    limit: u32,
    count: bool,
    unread: bool,
) {
    assert!(q.conditions.is_empty());
    assert_eq!(q.sort, sort);
    assert_eq!(q.skip, skip);
    assert_eq!(q.limit, limit);
    assert_eq!(q.count, count);
    assert_eq!(q.include_unread_message_count, unread);
}

#[test]
fn seed_limit() {
    assert_settings(&parse("limit=2"), None, 0, 2, false, true);
}

#[test]
fn seed_comparisons_on_times() {
    for (s, field, op, t) in [
        ("updated_at[lt]=1556829805", Field::UpdatedAt, Op::Lt, 1556829805),
        ("last_message_date_sent[lte]=1556735709", Field::LastMessageDateSent, Op::Lte, 1556735709),
        ("last_message_date_sent[gt]=1556735709", Field::LastMessageDateSent, Op::Gt, 1556735709),
        ("last_message_date_sent[gte]=1556735709", Field::LastMessageDateSent, Op::Gte, 1556735709),
        ("created_at[gt]=1556735709", Field::CreatedAt, Op::Gt, 1556735709),
    ] {
        assert_condition(s, field, op, Value::One(time(t)));
    }
}

#[test]
fn seed_id_not_equal() {
    let id: DialogId = "5cc9bb58a28f9a406659d777".parse().unwrap();
    assert_condition(
        "_id[ne]=5cc9bb58a28f9a406659d777",
        Field::Id,
        Op::Ne,
        Value::One(Scalar::Id(id)),
    );
}

#[test]
fn seed_type_in() {
    assert_condition(
        "type[in]=1,2",
        Field::Type,
        Op::In,
        Value::List(vec![Scalar::Type(DialogType::PublicGroup), Scalar::Type(DialogType::Group)]),
    );
}

#[test]
fn seed_not_in_with_a_space_after_the_comma() {
    assert_condition(
        "last_message_date_sent[nin]=1556739654, 1556739987",
        Field::LastMessageDateSent,
        Op::Nin,
        Value::List(vec![time(1556739654), time(1556739987)]),
    );
}

#[test]
fn seed_occupants_all() {
    assert_condition(
        "occupants_ids[all]=91103344,91142495",
        Field::OccupantsIds,
        Op::All,
        Value::List(vec![user(91103344), user(91142495)]),
    );
}

#[test]
fn seed_name_contains() {
    assert_condition("name[ctn]=party", Field::Name, Op::Ctn, Value::One(text("party")));
}

#[test]
fn seed_sorts() {
    for (s, field, direction) in [
        ("sort_asc=created_at", Field::CreatedAt, Direction::Asc),
        ("sort_desc=last_message_date_sent", Field::LastMessageDateSent, Direction::Desc),
        ("sort_asc=_id", Field::Id, Direction::Asc),
        ("sort_desc=name", Field::Name, Direction::Desc),
        ("sort_asc=data[class_name]", Field::DataClassName, Direction::Asc),
        ("sort_desc=data[progress]", Field::Data("progress".into()), Direction::Desc),
        ("sort_desc=data%5Bprogress%5D", Field::Data("progress".into()), Direction::Desc),
    ] {
        let sort = Some(Sort { field, direction });
        assert_settings(&parse(s), sort, 0, 100, false, true);
    }
}

#[test]
fn seed_custom_data() {
    let s = "data[class_name]=ScoreTable&data[game_mode_name]=rainbow+dash&data[progress][gte]=56";
    let q = parse(s);
    assert_eq!(q.conditions.len(), 3);
    let [class, mode, progress] = &q.conditions[..] else { unreachable!() };
    assert_eq!(class.field, Field::DataClassName);
    assert_eq!(class.op, Op::Eq);
    assert_eq!(class.value, Value::One(text("ScoreTable")));
    assert_eq!(class.span, Some(Span::new(0, 27)));
    assert_eq!(mode.field, Field::Data("game_mode_name".into()));
    assert_eq!(mode.op, Op::Eq);
    assert_eq!(mode.value, Value::One(text("rainbow dash")));
    assert_eq!(mode.span, Some(Span::new(28, 61)));
    assert_eq!(progress.field, Field::Data("progress".into()));
    assert_eq!(progress.op, Op::Gte);
    // Custom values stay text; the planner types them by the declared class.
    assert_eq!(progress.value, Value::One(text("56")));
    assert_eq!(progress.span, Some(Span::new(62, s.len())));
}

#[test]
fn seed_count_skip_and_unread_flag() {
    assert_settings(&parse("count=1"), None, 0, 100, true, true);
    assert_settings(&parse("count=0"), None, 0, 100, false, true);
    assert_settings(&parse("include_unread_message_count=0"), None, 0, 100, false, false);
    assert_settings(&parse("include_unread_message_count=1"), None, 0, 100, false, true);
    assert_settings(&parse("skip=20"), None, 20, 100, false, true);
    assert_settings(&parse("skip=0&limit=100"), None, 0, 100, false, true);
}

#[test]
fn seed_queries_together() {
    let q = parse(
        "?type[in]=1,2&occupants_ids[all]=91103344,91142495&updated_at[lt]=1556829805\
         &sort_desc=last_message_date_sent&skip=2&limit=2&count=1&include_unread_message_count=0",
    );
    let fields: Vec<_> = q.conditions.iter().map(|c| c.field.clone()).collect();
    assert_eq!(fields, [Field::Type, Field::OccupantsIds, Field::UpdatedAt]);
    assert_eq!(
        q.sort,
        Some(Sort { field: Field::LastMessageDateSent, direction: Direction::Desc })
    );
    assert_eq!((q.skip, q.limit, q.count, q.include_unread_message_count), (2, 2, true, false));
    // The leading `?` counts in spans: the first pair starts at byte 1.
    assert_eq!(q.conditions[0].span, Some(Span::new(1, 13)));
}

#[test]
fn equality_on_every_kind_of_field() {
    let id: DialogId = "5d75393ba28f9a17e1cb0f9e".parse().unwrap();
    for (s, field, value) in [
        ("_id=5D75393BA28F9A17E1CB0F9E", Field::Id, Scalar::Id(id)),
        ("user_id=96753878", Field::UserId, user(96753878)),
        ("last_message_user_id= 96753878 ", Field::LastMessageUserId, user(96753878)),
        ("type=3", Field::Type, Scalar::Type(DialogType::Private)),
        ("type=+2", Field::Type, Scalar::Type(DialogType::Group)),
        ("name=New Year party", Field::Name, text("New Year party")),
        ("photo=68123", Field::Photo, text("68123")),
        (
            "xmpp_room_jid=76730_5d75393ba28f9a17e1cb0f9e%40muc.chat.quickblox.com",
            Field::XmppRoomJid,
            text("76730_5d75393ba28f9a17e1cb0f9e@muc.chat.quickblox.com"),
        ),
        ("last_message=sure,+I+can+wait", Field::LastMessage, text("sure, I can wait")),
        (
            "last_message_id=5d755856a0eb47411e0b72a9",
            Field::LastMessageId,
            text("5d755856a0eb47411e0b72a9"),
        ),
        ("occupants_ids=96754523", Field::OccupantsIds, user(96754523)),
        ("admin_ids=96754523", Field::AdminIds, user(96754523)),
        ("is_join_required=1", Field::IsJoinRequired, Scalar::Bool(true)),
        ("is_join_required=false", Field::IsJoinRequired, Scalar::Bool(false)),
        ("created_at=-1", Field::CreatedAt, time(-1)),
        // Text is kept exactly, spaces included; an empty value is equality with "".
        ("name=%20padded%20", Field::Name, text(" padded ")),
        ("name=", Field::Name, text("")),
        ("name", Field::Name, text("")),
    ] {
        assert_condition(s, field, Op::Eq, Value::One(value));
    }
}

#[test]
fn times_accept_rfc_3339() {
    for (s, t) in [
        ("created_at[gt]=2019-09-08T17:24:11Z", 1567963451),
        // `+` is a space in a query string, so an offset's plus sign is written %2B.
        ("created_at[gt]=2019-09-08T19:24:11%2B02:00", 1567963451),
        ("created_at[gt]=2019-09-08T17:24:11.250Z", 1567963451),
        ("created_at[gt]=%202019-09-08T17:24:11Z%20", 1567963451),
    ] {
        assert_eq!(only_condition(s).value, Value::One(time(t)), "{s}");
    }
    let c = only_condition("updated_at[in]=2019-09-08T17:24:11Z, 1567963452");
    assert_eq!(c.value, Value::List(vec![time(1567963451), time(1567963452)]));
}

#[test]
fn percent_encoding_and_plus() {
    // Keys decode too.
    let c = only_condition("name%5Bctn%5D=New%20Year");
    assert_eq!((c.field, c.op), (Field::Name, Op::Ctn));
    assert_eq!(c.value, Value::One(text("New Year")));
    for (s, decoded) in [
        // `+` is a space; %2B is a plus; UTF-8 decodes; separators can be escaped.
        ("name=a+b%2Bc", "a b+c"),
        ("name=%C3%A9t%C3%A9", "été"),
        ("name=été", "été"),
        ("name=a%26b%3Dc", "a&b=c"),
        // A single value splits at the first `=` only, and keeps commas.
        ("name=a=b,c", "a=b,c"),
        // A malformed escape is kept as written.
        ("name=100%", "100%"),
    ] {
        assert_condition(s, Field::Name, Op::Eq, Value::One(text(decoded)));
    }
    // In lists, %2C is a comma inside an item, and only raw spaces around items are trimmed.
    let c = only_condition("name[in]=a%2Cb, c ,%20d");
    assert_eq!(c.value, Value::List(vec![text("a,b"), text("c"), text(" d")]));
    // A custom field's name decodes, and may hold any character but brackets.
    let c = only_condition("data[game%20mode%3D%26]=x");
    assert_eq!(c.field, Field::Data("game mode=&".into()));
}

#[test]
fn repeated_conditions_are_kept_in_order() {
    let q = parse("updated_at[gt]=1556735709&updated_at[lt]=1556829805&name[ctn]=a&name[ctn]=b");
    let ops: Vec<_> = q.conditions.iter().map(|c| (c.field.clone(), c.op)).collect();
    assert_eq!(
        ops,
        [
            (Field::UpdatedAt, Op::Gt),
            (Field::UpdatedAt, Op::Lt),
            (Field::Name, Op::Ctn),
            (Field::Name, Op::Ctn)
        ]
    );
    assert_eq!(q.conditions[1].value, Value::One(time(1556829805)));
    assert_eq!(q.conditions[3].value, Value::One(text("b")));
}

#[test]
fn wider_operators_the_spec_allows() {
    for s in [
        "user_id[in]=1,2",
        "_id[in]=5cc9bb58a28f9a406659d777",
        "type[gte]=2",
        "name[lt]=m",
        "occupants_ids[in]=1,2",
        "occupants_ids[nin]=1",
        "admin_ids[ne]=1",
        "admin_ids[all]=1,2",
        "is_join_required[in]=true,0",
        "data[class_name][ctn]=Score",
        "data[progress][nin]=1,2",
        "photo[ctn]=681",
    ] {
        only_condition(s);
    }
}

#[test]
fn empty_pairs_and_a_leading_question_mark() {
    assert_eq!(parse(""), Query::default());
    assert_eq!(parse("?"), Query::default());
    assert_eq!(parse("&&&"), Query::default());
    let q = parse("?&type=2&&limit=5&");
    assert_eq!(q.conditions.len(), 1);
    assert_eq!(q.conditions[0].span, Some(Span::new(2, 8)));
    assert_eq!(q.limit, 5);
}

#[test]
fn canonical_strings() {
    for (s, canonical) in [
        ("limit=2", "limit=2"),
        ("limit=100&skip=0&count=0&include_unread_message_count=1", ""),
        ("?type[in]=1,+2", "type[in]=1,2"),
        (
            "last_message_date_sent[nin]=1556739654, 1556739987",
            "last_message_date_sent[nin]=1556739654,1556739987",
        ),
        ("_id[ne]=5CC9BB58A28F9A406659D777", "_id[ne]=5cc9bb58a28f9a406659d777"),
        ("created_at[gte]=2019-09-08T17:24:11Z", "created_at[gte]=1567963451"),
        ("is_join_required=1", "is_join_required=true"),
        ("name[ctn]=New+Year's+party!", "name[ctn]=New%20Year%27s%20party%21"),
        ("name[in]=a%2Cb,c", "name[in]=a%2Cb,c"),
        (
            "count=1&include_unread_message_count=0&limit=2&skip=4&sort_asc=data[my%20field]",
            "sort_asc=data[my%20field]&skip=4&limit=2&count=1&include_unread_message_count=0",
        ),
        (
            "data[class_name]=ScoreTable&data[game_mode_name]=rainbow+dash",
            "data[class_name]=ScoreTable&data[game_mode_name]=rainbow%20dash",
        ),
    ] {
        let q = parse(s);
        assert_eq!(q.to_string(), canonical, "{s}");
        assert_eq!(parse(canonical), q, "{s}");
    }
}

#[test]
fn builder_and_parser_agree() {
    let built = Query::builder()
        .filter(Field::Type, Op::In, [DialogType::PublicGroup, DialogType::Group])
        .filter(Field::LastMessageDateSent, Op::Nin, ["1556739654", "2019-09-08T17:24:11Z"])
        .eq(Field::OccupantsIds, UserId(91103344))
        .filter(Field::Id, Op::Ne, "5cc9bb58a28f9a406659d777")
        .time_range(Field::UpdatedAt, 1556735709..=1556829805)
        .name_contains("party")
        .data("class_name", Op::Eq, "ScoreTable")
        .data("progress", Op::Gte, "56")
        .eq(Field::IsJoinRequired, true)
        .sort_asc(Field::Data("progress".into()))
        .skip(10)
        .limit(20)
        .count()
        .include_unread_message_count(false)
        .build()
        .unwrap();
    let parsed = parse(
        "type[in]=1,2&last_message_date_sent[nin]=1556739654,1567963451&occupants_ids=91103344\
         &_id[ne]=5cc9bb58a28f9a406659d777&updated_at[gte]=1556735709&updated_at[lte]=1556829805\
         &name[ctn]=party&data[class_name]=ScoreTable&data[progress][gte]=56\
         &is_join_required=true&sort_asc=data[progress]&skip=10&limit=20&count=1\
         &include_unread_message_count=0",
    );
    assert_eq!(built, parsed);
    assert!(built.conditions.iter().all(|c| c.span.is_none()));
    // A single value for a list operator is a list of one.
    let one = Query::builder().filter(Field::Type, Op::In, DialogType::Group).build().unwrap();
    assert_eq!(one, parse("type[in]=2"));
    let slice: &[UserId] = &[UserId(1), UserId(2)];
    let q = Query::builder().filter(Field::AdminIds, Op::All, slice).build().unwrap();
    assert_eq!(q, parse("admin_ids[all]=1,2"));
}
