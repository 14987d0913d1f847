//! Property tests: every valid query prints as a string that parses back to it, the builder
//! accepts it, and no string at all makes the parser panic.
//!
//! 1,000 cases per property by default; set `DIALOGSTORE_PROPTEST_CASES` for more.

use dialogstore::{
    Condition, Direction, Field, Op, Query, QueryErrorKind, Scalar, Sort, Value, ValueKind,
};
use dialogstore::{DialogId, DialogType, UserId};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

fn cases() -> u32 {
    std::env::var("DIALOGSTORE_PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(1000)
}

/// Text full of what a query string treats specially, plus any Unicode at all.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ,&=+%?#\\[\\]!'\"/\\\\é日本🎉_.~-]{0,12}",
        vec(any::<char>(), 0..12).prop_map(|cs| cs.into_iter().collect()),
    ]
}

/// A custom field's name: anything without brackets, but not `class_name`, which is
/// [`Field::DataClassName`].
fn data_name() -> impl Strategy<Value = String> {
    text().prop_filter("a custom field name", |n| {
        !n.is_empty() && !n.contains(['[', ']']) && n != "class_name"
    })
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        3 => select(Field::NAMED.to_vec()),
        1 => data_name().prop_map(Field::Data),
    ]
}

fn scalar(kind: ValueKind) -> BoxedStrategy<Scalar> {
    match kind {
        ValueKind::Id => any::<[u8; 12]>().prop_map(|b| Scalar::Id(DialogId(b))).boxed(),
        ValueKind::User | ValueKind::UserSet => {
            any::<u64>().prop_map(|u| Scalar::User(UserId(u))).boxed()
        }
        ValueKind::Time => any::<i64>().prop_map(Scalar::Time).boxed(),
        ValueKind::Type => select(DialogType::ALL.to_vec()).prop_map(Scalar::Type).boxed(),
        ValueKind::Bool => any::<bool>().prop_map(Scalar::Bool).boxed(),
        ValueKind::Str | ValueKind::Data => text().prop_map(Scalar::Str).boxed(),
    }
}

fn non_empty(s: &Scalar) -> bool {
    !matches!(s, Scalar::Str(t) if t.is_empty())
}

fn condition() -> impl Strategy<Value = Condition> {
    field()
        .prop_flat_map(|field| {
            let ops: Vec<Op> = Op::ALL.into_iter().filter(|op| field.allows(*op)).collect();
            (Just(field), select(ops))
        })
        .prop_flat_map(|(field, op)| {
            let one = scalar(field.kind());
            let value = if op.takes_list() {
                vec(one.prop_filter("list items are not empty", non_empty), 1..4)
                    .prop_map(Value::List)
                    .boxed()
            } else if op == Op::Ctn {
                one.prop_filter("ctn patterns are not empty", non_empty)
                    .prop_map(Value::One)
                    .boxed()
            } else {
                one.prop_map(Value::One).boxed()
            };
            (Just(field), Just(op), value)
        })
        .prop_map(|(field, op, value)| Condition { field, op, value, span: None })
}

fn sort() -> impl Strategy<Value = Option<Sort>> {
    let field = field().prop_filter("a sortable field", Field::sortable);
    let direction = prop_oneof![Just(Direction::Asc), Just(Direction::Desc)];
    proptest::option::of(
        (field, direction).prop_map(|(field, direction)| Sort { field, direction }),
    )
}

/// Any valid query. Its parts are small enough that its canonical string stays under 8 KiB.
fn query() -> impl Strategy<Value = Query> {
    (
        vec(condition(), 0..6),
        sort(),
        prop_oneof![Just(0u32), any::<u32>()],
        prop_oneof![Just(100u32), 1..=100u32],
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(prop_oneof![Just(String::new()), "([0-9a-f]{2}){1,40}"]),
    )
        .prop_map(
            |(conditions, sort, skip, limit, count, include_unread_message_count, cursor)| {
                // `skip` and a non-empty cursor do not go together.
                let skip = if cursor.as_deref().is_some_and(|c| !c.is_empty()) { 0 } else { skip };
                Query { conditions, sort, skip, limit, count, include_unread_message_count, cursor }
            },
        )
}

/// The same query given to the builder piece by piece.
fn build(q: &Query) -> Result<Query, dialogstore::QueryError> {
    let mut b = Query::builder();
    for c in &q.conditions {
        b = b.filter(c.field.clone(), c.op, c.value.clone());
    }
    if let Some(sort) = &q.sort {
        b = match sort.direction {
            Direction::Asc => b.sort_asc(sort.field.clone()),
            Direction::Desc => b.sort_desc(sort.field.clone()),
        };
    }
    if q.count {
        b = b.count();
    }
    if let Some(cursor) = &q.cursor {
        b = b.cursor(cursor.clone());
    }
    b.skip(q.skip)
        .limit(q.limit)
        .include_unread_message_count(q.include_unread_message_count)
        .build()
}

/// Strings made of the query language's own pieces, so that many of them parse.
fn query_like() -> impl Strategy<Value = String> {
    let key = select(vec![
        "name",
        "_id",
        "type",
        "created_at",
        "occupants_ids",
        "is_join_required",
        "data[x]",
        "data[class_name]",
        "limit",
        "skip",
        "count",
        "sort_asc",
        "sort_desc",
        "nme",
        "data",
        "include_unread_message_count",
        "user_id",
        "?",
    ]);
    let op = select(vec![
        "", "[lt]", "[gte]", "[ne]", "[in]", "[nin]", "[all]", "[ctn]", "[eq]", "[]", "[x][y]",
    ]);
    let value = select(vec![
        "",
        "1",
        "2",
        "0",
        "101",
        "-5",
        "true",
        "1,2",
        "1, 2",
        "a,,b",
        "%",
        "%FF",
        "%C3%A9",
        "+",
        "name",
        "occupants_ids",
        "5cc9bb58a28f9a406659d777",
        "2019-09-08T17:24:11Z",
        "data[y]",
        "é",
    ]);
    vec((key, op, prop_oneof![Just("="), Just("")], value), 0..6).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(k, o, eq, v)| format!("{k}{o}{eq}{v}"))
            .collect::<Vec<_>>()
            .join("&")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn valid_queries_round_trip(q in query()) {
        let printed = q.to_string();
        prop_assert!(printed.len() <= dialogstore::MAX_QUERY_BYTES);
        prop_assert_eq!(printed.parse::<Query>(), Ok(q.clone()), "printed as {}", printed);
        prop_assert_eq!(build(&q), Ok(q));
    }

    #[test]
    fn arbitrary_strings_never_panic(s in prop_oneof![any::<String>(), query_like()]) {
        // Parses and round-trips, or fails and renders.
        dialogstore_testkit::fuzzing::parse_query(s.as_bytes());
        if let Err(err) = s.parse::<Query>() {
            prop_assert!(err.span.start <= err.span.end && err.span.end <= s.len());
            if !matches!(err.kind, QueryErrorKind::TooLong { .. }) {
                prop_assert!(s.is_char_boundary(err.span.start));
                prop_assert!(s.is_char_boundary(err.span.end));
            }
            let rendered = err.render(&s);
            prop_assert!(rendered.ends_with(&err.to_string()));
        }
    }
}
