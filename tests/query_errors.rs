//! Bad queries as data: each query string with the exact message and span of its error, for
//! every error the parser reports; the same for the builder; and the caret `render` draws.

use dialogstore::{DialogType, FieldType, UserId};
use dialogstore::{Field, Op, Query, QueryError, QueryErrorKind, Scalar, Span, ValueKind};

/// A query string, the message of its error, and the byte range that error points at.
const BAD_QUERIES: &[(&str, &str, (usize, usize))] = &[
    // Keys.
    ("nme=x", r#"nme: unknown field "nme""#, (0, 5)),
    ("type=2&Type=2", r#"Type: unknown field "Type""#, (7, 13)),
    (
        "name[like]=x",
        r#"name[like]: unknown operator "like", expected one of lt lte gt gte ne in nin all ctn"#,
        (0, 12),
    ),
    (
        "name[eq]=x",
        r#"name[eq]: unknown operator "eq", expected one of lt lte gt gte ne in nin all ctn"#,
        (0, 10),
    ),
    (
        "data[progress][above]=5",
        r#"data[progress][above]: unknown operator "above", expected one of lt lte gt gte ne in nin all ctn"#,
        (0, 23),
    ),
    (
        "data=x",
        "data: malformed key, expected FIELD, FIELD[OP], data[NAME] or data[NAME][OP]",
        (0, 6),
    ),
    (
        "data[]=x",
        "data[]: malformed key, expected FIELD, FIELD[OP], data[NAME] or data[NAME][OP]",
        (0, 8),
    ),
    (
        "data[a][b][c]=x",
        "data[a][b][c]: malformed key, expected FIELD, FIELD[OP], data[NAME] or data[NAME][OP]",
        (0, 15),
    ),
    (
        "name[]=x",
        "name[]: malformed key, expected FIELD, FIELD[OP], data[NAME] or data[NAME][OP]",
        (0, 8),
    ),
    (
        "name[ctn=x",
        "name[ctn: malformed key, expected FIELD, FIELD[OP], data[NAME] or data[NAME][OP]",
        (0, 10),
    ),
    (
        "name[ctn]x=y",
        "name[ctn]x: malformed key, expected FIELD, FIELD[OP], data[NAME] or data[NAME][OP]",
        (0, 12),
    ),
    (
        "name[ctn][lt]=x",
        "name[ctn][lt]: malformed key, expected FIELD, FIELD[OP], data[NAME] or data[NAME][OP]",
        (0, 15),
    ),
    (
        "name]=x",
        "name]: malformed key, expected FIELD, FIELD[OP], data[NAME] or data[NAME][OP]",
        (0, 7),
    ),
    ("=x", ": malformed key, expected FIELD, FIELD[OP], data[NAME] or data[NAME][OP]", (0, 2)),
    (
        "limit[gt]=5",
        "limit[gt]: malformed key, expected FIELD, FIELD[OP], data[NAME] or data[NAME][OP]",
        (0, 11),
    ),
    ("%FF=1", "%FF: does not percent-decode to UTF-8", (0, 5)),
    // Operators that do not apply.
    ("type[ctn]=2", "type[ctn]: operator ctn does not apply to type", (0, 11)),
    ("type[ctn]=x", "type[ctn]: operator ctn does not apply to type", (0, 11)),
    ("name[all]=a,b", "name[all]: operator all does not apply to name", (0, 13)),
    (
        "occupants_ids[lt]=5",
        "occupants_ids[lt]: operator lt does not apply to occupants_ids",
        (0, 19),
    ),
    (
        "is_join_required[gt]=0",
        "is_join_required[gt]: operator gt does not apply to is_join_required",
        (0, 22),
    ),
    // Values.
    ("name=%FF", "name: does not percent-decode to UTF-8", (0, 8)),
    ("name[in]=a,%C3", "name[in]: does not percent-decode to UTF-8", (0, 14)),
    (
        "created_at[gt]=yesterday",
        r#"created_at[gt]: "yesterday" is not a timestamp (unix seconds or RFC 3339)"#,
        (0, 24),
    ),
    // An unescaped `+` in an offset is a space.
    (
        "created_at[gt]=2019-09-08T19:24:11+02:00",
        r#"created_at[gt]: "2019-09-08T19:24:11 02:00" is not a timestamp (unix seconds or RFC 3339)"#,
        (0, 40),
    ),
    (
        "updated_at[lt]=99999999999999999999",
        r#"updated_at[lt]: "99999999999999999999" is not a timestamp (unix seconds or RFC 3339)"#,
        (0, 35),
    ),
    ("_id[ne]=5cc9bb58", r#"_id[ne]: "5cc9bb58" is not a dialog id (24 hex characters)"#, (0, 16)),
    ("_id=", r#"_id: "" is not a dialog id (24 hex characters)"#, (0, 4)),
    ("user_id=-1", r#"user_id: "-1" is not a user id (a non-negative integer)"#, (0, 10)),
    (
        "occupants_ids[all]=91103344,x9",
        r#"occupants_ids[all]: "x9" is not a user id (a non-negative integer)"#,
        (0, 30),
    ),
    ("type=4", r#"type: "4" is not a dialog type (1, 2 or 3)"#, (0, 6)),
    ("type[in]=1,group", r#"type[in]: "group" is not a dialog type (1, 2 or 3)"#, (0, 16)),
    (
        "is_join_required=yes",
        r#"is_join_required: "yes" is not a boolean (true, false, 1 or 0)"#,
        (0, 20),
    ),
    ("type[in]=", "type[in]: list is empty or has an empty item", (0, 9)),
    ("type[in]=1,,2", "type[in]: list is empty or has an empty item", (0, 13)),
    (
        "last_message_date_sent[nin]=1556739654, ",
        "last_message_date_sent[nin]: list is empty or has an empty item",
        (0, 40),
    ),
    ("name[ctn]=", "name[ctn]: empty pattern, ctn needs at least one character", (0, 10)),
    (
        "data[mode][ctn]",
        "data[mode][ctn]: empty pattern, ctn needs at least one character",
        (0, 15),
    ),
    // Settings.
    ("limit=0", r#"limit: must be an integer from 1 to 100, got "0""#, (0, 7)),
    ("type=2&limit=101", r#"limit: must be an integer from 1 to 100, got "101""#, (7, 16)),
    ("limit=ten", r#"limit: must be an integer from 1 to 100, got "ten""#, (0, 9)),
    ("limit", r#"limit: must be an integer from 1 to 100, got """#, (0, 5)),
    ("skip=-1", r#"skip: must be a non-negative integer, got "-1""#, (0, 7)),
    ("skip=4294967296", r#"skip: must be a non-negative integer, got "4294967296""#, (0, 15)),
    ("count=2", r#"count: must be 0 or 1, got "2""#, (0, 7)),
    (
        "include_unread_message_count=true",
        r#"include_unread_message_count: must be 0 or 1, got "true""#,
        (0, 33),
    ),
    ("limit=5&limit=5", "limit: given more than once", (8, 15)),
    ("skip=1&skip=2", "skip: given more than once", (7, 13)),
    ("count=1&count=0", "count: given more than once", (8, 15)),
    (
        "include_unread_message_count=0&include_unread_message_count=0",
        "include_unread_message_count: given more than once",
        (31, 61),
    ),
    (
        "sort_asc=name&sort_desc=type",
        "sort_desc: only one of sort_asc and sort_desc, once",
        (14, 28),
    ),
    ("sort_asc=name&sort_asc=name", "sort_asc: only one of sort_asc and sort_desc, once", (14, 27)),
    (
        "sort_asc=occupants_ids",
        "sort_asc: cannot sort on occupants_ids, it holds a set of users",
        (0, 22),
    ),
    (
        "sort_desc=admin_ids",
        "sort_desc: cannot sort on admin_ids, it holds a set of users",
        (0, 19),
    ),
    // QuickBlox's placeholder is not a field.
    ("sort_desc=field_name", r#"sort_desc: unknown field "field_name""#, (0, 20)),
    ("sort_asc=data[]", r#"sort_asc: unknown field "data[]""#, (0, 15)),
    ("sort_asc=name[ctn]", r#"sort_asc: unknown field "name[ctn]""#, (0, 18)),
    ("sort_asc=%FF", "sort_asc: does not percent-decode to UTF-8", (0, 12)),
];

#[test]
fn bad_queries_name_their_key_reason_and_span() {
    for &(query, message, (start, end)) in BAD_QUERIES {
        let err = query.parse::<Query>().expect_err(&format!("{query:?} should not parse"));
        assert_eq!(err.to_string(), message, "{query}");
        assert_eq!(err.span, Span::new(start, end), "{query}: {message}");
    }
}

#[test]
fn long_queries_and_values() {
    let cases = [
        // Over 8 KiB: refused before it is read, pointing past the last byte allowed.
        (
            format!("name={}", "a".repeat(8200)),
            "query: 8205 bytes, the most is 8192".to_owned(),
            Span::new(8192, 8205),
        ),
        // Keys and values are cut to 64 characters in messages.
        (
            format!("{}=1", "k".repeat(100)),
            format!("{}…: unknown field \"{}…\"", "k".repeat(64), "k".repeat(64)),
            Span::new(0, 102),
        ),
        (
            format!("type={}", "9".repeat(100)),
            format!("type: \"{}…\" is not a dialog type (1, 2 or 3)", "9".repeat(64)),
            Span::new(0, 105),
        ),
    ];
    for (query, message, span) in cases {
        let err = query.parse::<Query>().unwrap_err();
        assert_eq!(err.to_string(), message);
        assert_eq!(err.span, span, "{message}");
    }
    // Exactly 8 KiB is fine.
    let query = format!("name={}", "a".repeat(8192 - 5));
    assert!(query.parse::<Query>().is_ok());
    // The limit is on the string given: `!` prints as `%21`, 3,005 bytes in and 9,005 out, and
    // the query parses (its printed form, over the limit, would not).
    let query = format!("name={}", "!".repeat(3000));
    let printed = query.parse::<Query>().expect("3,005 bytes").to_string();
    assert_eq!(printed.len(), 9005);
    let err = printed.parse::<Query>().unwrap_err();
    assert_eq!(err.to_string(), "query: 9005 bytes, the most is 8192");
}

#[test]
fn render_draws_a_caret_under_the_pair() {
    for (query, rendered) in [
        (
            "type[in]=1,2&limit=0&name[ctn]=party",
            "type[in]=1,2&limit=0&name[ctn]=party\n             ^^^^^^^ limit: must be an integer \
             from 1 to 100, got \"0\"",
        ),
        // Columns count characters, so the caret stands under the pair after non-ASCII text.
        (
            "name=été&type=9",
            "name=été&type=9\n         ^^^^^^ type: \"9\" is not a dialog type (1, 2 or 3)",
        ),
    ] {
        let err = query.parse::<Query>().unwrap_err();
        assert_eq!(err.render(query), rendered);
    }
}

#[test]
fn the_builder_reports_the_key_as_written_with_an_empty_span() {
    let cases: Vec<(Result<Query, QueryError>, &str)> = vec![
        (
            Query::builder().filter(Field::Type, Op::Ctn, "2").build(),
            "type[ctn]: operator ctn does not apply to type",
        ),
        (
            Query::builder().name_contains("").build(),
            "name[ctn]: empty pattern, ctn needs at least one character",
        ),
        (
            Query::builder().eq(Field::Type, "9").build(),
            r#"type: "9" is not a dialog type (1, 2 or 3)"#,
        ),
        (
            Query::builder().eq(Field::UserId, Scalar::Time(5)).build(),
            "user_id: expected a user id, got a time",
        ),
        (
            Query::builder().data("progress", Op::Eq, UserId(5)).build(),
            "data[progress]: expected text, got a user id",
        ),
        (
            Query::builder()
                .filter(Field::OccupantsIds, Op::All, [Scalar::User(UserId(1)), Scalar::Bool(true)])
                .build(),
            "occupants_ids[all]: expected a user id, got a boolean",
        ),
        (Query::builder().eq(Field::Name, ["a", "b"]).build(), "name: takes one value, not a list"),
        (
            Query::builder().filter(Field::Type, Op::In, Vec::<DialogType>::new()).build(),
            "type[in]: list is empty or has an empty item",
        ),
        (
            Query::builder().filter(Field::Name, Op::In, ["a", ""]).build(),
            "name[in]: list is empty or has an empty item",
        ),
        (
            Query::builder().data("", Op::Eq, "x").build(),
            "data[]: malformed key, expected FIELD, FIELD[OP], data[NAME] or data[NAME][OP]",
        ),
        (
            Query::builder().data("a]b", Op::Gt, "x").build(),
            "data[a]b][gt]: malformed key, expected FIELD, FIELD[OP], data[NAME] or data[NAME][OP]",
        ),
        (Query::builder().limit(0).build(), r#"limit: must be an integer from 1 to 100, got "0""#),
        (
            Query::builder().limit(101).build(),
            r#"limit: must be an integer from 1 to 100, got "101""#,
        ),
        (
            Query::builder().sort_desc(Field::AdminIds).build(),
            "sort_desc: cannot sort on admin_ids, it holds a set of users",
        ),
        (
            Query::builder().sort_asc(Field::Data("a[b".into())).build(),
            r#"sort_asc: unknown field "data[a[b]""#,
        ),
        (
            Query::builder().name_contains("!".repeat(3000)).build(),
            "query: 9010 bytes once printed in canonical form, the most is 8192",
        ),
    ];
    for (result, message) in cases {
        let err = result.expect_err(message);
        assert_eq!(err.to_string(), message);
        assert_eq!(err.span, Span::default(), "{message}");
    }
}

/// One error of every kind, the planner's included.
fn every_kind() -> Vec<QueryErrorKind> {
    use QueryErrorKind::*;
    let value = || "v".to_owned();
    vec![
        TooLong { len: 9000 },
        BadEncoding,
        MalformedKey,
        UnknownField { field: value() },
        UnknownOperator { op: value() },
        NotApplicable { field: Field::Type, op: Op::Ctn },
        BadTimestamp { value: value() },
        BadDialogId { value: value() },
        BadUserId { value: value() },
        BadType { value: value() },
        BadBool { value: value() },
        EmptyList,
        EmptyValue,
        MismatchedValue { expected: ValueKind::User, found: ValueKind::Time },
        ListNotAllowed,
        CanonicalTooLong { len: 9000 },
        LimitOutOfRange { value: value() },
        BadSkip { value: value() },
        BadFlag { value: value() },
        SortConflict,
        NotSortable { field: Field::AdminIds },
        Repeated,
        UntypedComparison { field: value() },
        UnknownDataField { class: value(), field: value() },
        BadDataValue { field: value(), expected: FieldType::Integer, value: value() },
    ]
}

#[test]
fn no_two_kinds_share_a_message() {
    let messages: Vec<String> = every_kind().iter().map(ToString::to_string).collect();
    for (i, a) in messages.iter().enumerate() {
        for b in &messages[i + 1..] {
            assert_ne!(a, b);
        }
    }
}
