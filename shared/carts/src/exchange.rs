//! Building blocks for multi-call operations: one call, paging, one call per item, and "then".

use crate::{CartError, Exchange, Request, Response, Step};

/// Most pages any listing follows; a cart that keeps returning full pages past this is broken.
pub const MAX_PAGES: u32 = 2_000;

fn out_of_order(what: &str) -> CartError {
    CartError::InvalidRequest {
        what: format!("exchange stepped out of order: {what}"),
    }
}

/// One request, one parsed response.
pub fn single<T, P>(request: Result<Request, CartError>, parse: P) -> Single<P>
where
    P: FnOnce(Response) -> Result<T, CartError>,
{
    Single {
        request: Some(request),
        parse: Some(parse),
    }
}

pub struct Single<P> {
    request: Option<Result<Request, CartError>>,
    parse: Option<P>,
}

impl<T, P> Exchange for Single<P>
where
    P: FnOnce(Response) -> Result<T, CartError>,
{
    type Output = T;

    fn step(&mut self, response: Option<Response>) -> Result<Step<T>, CartError> {
        match (response, self.request.take()) {
            (None, Some(request)) => Ok(Step::Send(request?)),
            (Some(response), None) => match self.parse.take() {
                Some(parse) => Ok(Step::Done(parse(response)?)),
                None => Err(out_of_order("a response after the end")),
            },
            (None, None) => Err(out_of_order("started twice")),
            (Some(_), Some(_)) => Err(out_of_order("a response before the request")),
        }
    }
}

/// A value with no call at all (e.g. nothing left to send).
pub fn ready<T>(value: T) -> Ready<T> {
    Ready(Some(value))
}

pub struct Ready<T>(Option<T>);

/// The answer of a cart that has no batch call: every update refused at once, nothing sent (the
/// default of `Connector::write_back_batch`; callers send such updates one by one).
pub fn not_batched(
    cart: mallsync_rules::Cart,
    updates: usize,
) -> Ready<Vec<Result<(), CartError>>> {
    ready(
        (0..updates)
            .map(|_| {
                Err(CartError::InvalidRequest {
                    what: format!(
                        "{} has no batch write: send each update with write_back",
                        cart.display_name()
                    ),
                })
            })
            .collect(),
    )
}

impl<T> Exchange for Ready<T> {
    type Output = T;

    fn step(&mut self, response: Option<Response>) -> Result<Step<T>, CartError> {
        match (response, self.0.take()) {
            (None, Some(value)) => Ok(Step::Done(value)),
            _ => Err(out_of_order("no request was sent")),
        }
    }
}

/// One page of a listing and where the next one starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<I, C> {
    pub items: Vec<I>,
    /// `None` on the last page.
    pub next: Option<C>,
}

/// How one cart pages a listing: the request for a cursor, and the page a response holds.
pub trait Pages {
    type Item;
    /// Offset, page number or the cart's next-page URL.
    type Cursor;
    fn request(&self, cursor: &Self::Cursor) -> Result<Request, CartError>;
    fn parse(
        &self,
        cursor: &Self::Cursor,
        response: Response,
    ) -> Result<Page<Self::Item, Self::Cursor>, CartError>;
}

/// Every item of a listing, following [`Pages`] from `first` to the last page.
pub fn paged<P: Pages>(pages: P, first: P::Cursor) -> Paged<P> {
    Paged {
        pages,
        cursor: Some(first),
        items: Vec::new(),
        sent: 0,
    }
}

pub struct Paged<P: Pages> {
    pages: P,
    cursor: Option<P::Cursor>,
    items: Vec<P::Item>,
    sent: u32,
}

impl<P: Pages> Exchange for Paged<P> {
    type Output = Vec<P::Item>;

    fn step(&mut self, response: Option<Response>) -> Result<Step<Self::Output>, CartError> {
        let cursor = self
            .cursor
            .as_ref()
            .ok_or_else(|| out_of_order("a step after the last page"))?;
        match (response, self.sent) {
            (None, 0) => {}
            (Some(response), sent) if sent > 0 => {
                let page = self.pages.parse(cursor, response)?;
                self.items.extend(page.items);
                match page.next {
                    Some(next) => self.cursor = Some(next),
                    None => {
                        self.cursor = None;
                        return Ok(Step::Done(std::mem::take(&mut self.items)));
                    }
                }
            }
            _ => return Err(out_of_order("a response without a request")),
        }
        if self.sent >= MAX_PAGES {
            return Err(CartError::malformed(format!(
                "the listing did not end after {MAX_PAGES} pages"
            )));
        }
        let cursor = self
            .cursor
            .as_ref()
            .ok_or_else(|| out_of_order("no next page"))?;
        self.sent += 1;
        Ok(Step::Send(self.pages.request(cursor)?))
    }
}

/// Exactly one page of a [`Pages`] listing: the request for `cursor` and its parsed page.
pub fn one_page<P: Pages>(
    pages: P,
    cursor: P::Cursor,
) -> impl Exchange<Output = Page<P::Item, P::Cursor>> {
    let request = pages.request(&cursor);
    single(request, move |response| pages.parse(&cursor, response))
}

/// Where a list-then-read import (BASE, CS-Cart: the listing holds only keys) stands between steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyedCursor {
    /// The next listing page's offset or number; `None` before the first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page: Option<u64>,
    /// Every listing page has been read.
    #[serde(default)]
    pub listed: bool,
    /// Keys listed and not read yet, first to read first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
}

/// One step of a list-then-read import: read the first pending key's order, or, when none is
/// pending, list the next page of keys into the cursor (no orders in that step).
pub fn keyed_step<P, R, Q, T>(
    pages: P,
    first_page: u64,
    cursor: &KeyedCursor,
    read: R,
    parse: Q,
) -> impl Exchange<Output = crate::ImportPage<KeyedCursor>>
where
    P: Pages<Item = String, Cursor = u64>,
    R: FnOnce(&str) -> Result<Request, CartError>,
    Q: FnOnce(Response) -> Result<T, CartError>,
    T: Into<Vec<mallsync_rules::ImportedOrder>>,
{
    let mut cursor = cursor.clone();
    if !cursor.pending.is_empty() {
        let key = cursor.pending.remove(0);
        let request = read(&key);
        Either::Left(single(request, move |response| {
            let orders = parse(response)?.into();
            let done = cursor.listed && cursor.pending.is_empty();
            Ok(crate::ImportPage {
                orders,
                next: (!done).then_some(cursor),
            })
        }))
    } else {
        let page = cursor.next_page.unwrap_or(first_page);
        Either::Right(map(one_page(pages, page), move |listed| {
            let mut seen = std::collections::HashSet::new();
            let pending: Vec<String> = listed
                .items
                .into_iter()
                .filter(|k| seen.insert(k.clone()))
                .collect();
            let listed_all = listed.next.is_none();
            let done = listed_all && pending.is_empty();
            crate::ImportPage {
                orders: Vec::new(),
                next: (!done).then_some(KeyedCursor {
                    next_page: listed.next,
                    listed: listed_all,
                    pending,
                }),
            }
        }))
    }
}

/// The offset of the next page of an offset/limit listing, or `None` when this page was the last:
/// an empty page, the cart's total reached, or (without a total) a short page.
pub fn next_offset(offset: u64, got: usize, limit: u64, total: Option<u64>) -> Option<u64> {
    let got = got as u64;
    let last = got == 0
        || match total {
            Some(total) => offset.saturating_add(got) >= total,
            None => got < limit,
        };
    (!last).then(|| offset.saturating_add(got))
}

/// One call per item, in order: `request(item)`, then `parse(item, response)`.
pub fn each<X, T, R, P>(items: Vec<X>, request: R, parse: P) -> Each<X, T, R, P>
where
    R: FnMut(&X) -> Result<Request, CartError>,
    P: FnMut(&X, Response) -> Result<T, CartError>,
{
    let mut pending = items;
    pending.reverse();
    Each {
        pending,
        current: None,
        done: Vec::new(),
        request,
        parse,
    }
}

pub struct Each<X, T, R, P> {
    /// Still to call, last first (popped from the end).
    pending: Vec<X>,
    current: Option<X>,
    done: Vec<T>,
    request: R,
    parse: P,
}

impl<X, T, R, P> Exchange for Each<X, T, R, P>
where
    R: FnMut(&X) -> Result<Request, CartError>,
    P: FnMut(&X, Response) -> Result<T, CartError>,
{
    type Output = Vec<T>;

    fn step(&mut self, response: Option<Response>) -> Result<Step<Vec<T>>, CartError> {
        match (response, self.current.take()) {
            (Some(response), Some(item)) => {
                let parsed = (self.parse)(&item, response)?;
                self.done.push(parsed);
            }
            (None, None) => {}
            _ => return Err(out_of_order("a response that does not match a request")),
        }
        match self.pending.pop() {
            Some(item) => {
                let request = (self.request)(&item)?;
                self.current = Some(item);
                Ok(Step::Send(request))
            }
            None => Ok(Step::Done(std::mem::take(&mut self.done))),
        }
    }
}

/// Runs `first`, then the exchange `next` builds from its output.
pub fn then<A, B, F>(first: A, next: F) -> Then<A, B, F>
where
    A: Exchange,
    B: Exchange,
    F: FnOnce(A::Output) -> Result<B, CartError>,
{
    Then::First(first, Some(next))
}

pub enum Then<A, B, F> {
    First(A, Option<F>),
    Second(B),
}

impl<A, B, F> Exchange for Then<A, B, F>
where
    A: Exchange,
    B: Exchange,
    F: FnOnce(A::Output) -> Result<B, CartError>,
{
    type Output = B::Output;

    fn step(&mut self, response: Option<Response>) -> Result<Step<B::Output>, CartError> {
        match self {
            Then::Second(b) => b.step(response),
            Then::First(a, next) => match a.step(response)? {
                Step::Send(request) => Ok(Step::Send(request)),
                Step::Done(output) => {
                    let next = next
                        .take()
                        .ok_or_else(|| out_of_order("a step after the end"))?;
                    let mut b = next(output)?;
                    let first = b.step(None)?;
                    *self = Then::Second(b);
                    Ok(first)
                }
            },
        }
    }
}

/// A listing of keys, then one call per distinct key in the order first listed (offset paging
/// can list an order twice when new orders push the list down while it is read).
pub fn each_listed<A, K, T, R, P>(list: A, request: R, parse: P) -> impl Exchange<Output = Vec<T>>
where
    A: Exchange<Output = Vec<K>>,
    K: Clone + Eq + std::hash::Hash,
    R: FnMut(&K) -> Result<Request, CartError>,
    P: FnMut(&K, Response) -> Result<T, CartError>,
{
    then(list, move |mut keys: Vec<K>| {
        let mut seen = std::collections::HashSet::new();
        keys.retain(|k| seen.insert(k.clone()));
        Ok(each(keys, request, parse))
    })
}

/// Either of two exchanges with the same output (a branch on what an earlier call returned).
pub enum Either<A, B> {
    Left(A),
    Right(B),
}

impl<A, B> Exchange for Either<A, B>
where
    A: Exchange,
    B: Exchange<Output = A::Output>,
{
    type Output = A::Output;

    fn step(&mut self, response: Option<Response>) -> Result<Step<A::Output>, CartError> {
        match self {
            Either::Left(a) => a.step(response),
            Either::Right(b) => b.step(response),
        }
    }
}

/// Maps an exchange's output.
pub fn map<A, T, F>(inner: A, f: F) -> Map<A, F>
where
    A: Exchange,
    F: FnMut(A::Output) -> T,
{
    Map { inner, f }
}

pub struct Map<A, F> {
    inner: A,
    f: F,
}

impl<A, T, F> Exchange for Map<A, F>
where
    A: Exchange,
    F: FnMut(A::Output) -> T,
{
    type Output = T;

    fn step(&mut self, response: Option<Response>) -> Result<Step<T>, CartError> {
        Ok(match self.inner.step(response)? {
            Step::Send(r) => Step::Send(r),
            Step::Done(out) => Step::Done((self.f)(out)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{drive, TransportError};

    fn get(path: &str) -> Result<Request, CartError> {
        http::Request::builder()
            .uri(format!("https://cart.test{path}"))
            .body(Vec::new())
            .map_err(|e| CartError::malformed(e.to_string()))
    }

    fn ok(body: &str) -> Response {
        http::Response::builder()
            .status(200)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    /// Pages of `[offset, offset+1, …]` out of `total` numbers, 2 per page.
    struct Numbers {
        total: u64,
    }

    impl Pages for Numbers {
        type Item = u64;
        type Cursor = u64;
        fn request(&self, offset: &u64) -> Result<Request, CartError> {
            get(&format!("/n?offset={offset}"))
        }
        fn parse(&self, offset: &u64, response: Response) -> Result<Page<u64, u64>, CartError> {
            let items: Vec<u64> = serde_json::from_slice(response.body())
                .map_err(|e| CartError::malformed(e.to_string()))?;
            let next = next_offset(*offset, items.len(), 2, Some(self.total));
            Ok(Page { items, next })
        }
    }

    fn serve_numbers(total: u64) -> impl FnMut(Request) -> Result<Response, TransportError> {
        move |req| {
            let offset: u64 = req
                .uri()
                .query()
                .and_then(|q| q.strip_prefix("offset="))
                .and_then(|o| o.parse().ok())
                .unwrap();
            let page: Vec<u64> = (offset..(offset + 2).min(total)).collect();
            Ok(ok(&serde_json::to_string(&page).unwrap()))
        }
    }

    #[test]
    fn paging_follows_offsets_until_the_total_is_reached() {
        let mut calls = 0;
        let mut serve = serve_numbers(5);
        let out = drive(paged(Numbers { total: 5 }, 0), |r| {
            calls += 1;
            serve(r)
        })
        .unwrap();
        assert_eq!(out, vec![0, 1, 2, 3, 4]);
        assert_eq!(calls, 3);
    }

    #[test]
    fn an_empty_first_page_ends_the_listing() {
        let out = drive(paged(Numbers { total: 0 }, 0), serve_numbers(0)).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn a_listing_that_never_ends_is_cut_off_with_an_error() {
        // The cart claims a huge total and always returns a full page.
        let e = drive(paged(Numbers { total: u64::MAX }, 0), |_| Ok(ok("[1,2]"))).unwrap_err();
        assert!(matches!(e, CartError::Malformed { .. }), "{e:?}");
    }

    #[test]
    fn next_offset_stops_on_short_pages_only_without_a_total() {
        assert_eq!(next_offset(0, 100, 100, None), Some(100));
        assert_eq!(next_offset(100, 7, 100, None), None);
        assert_eq!(next_offset(0, 7, 100, Some(20)), Some(7));
        assert_eq!(next_offset(13, 7, 100, Some(20)), None);
        assert_eq!(next_offset(0, 0, 100, Some(20)), None);
    }

    #[test]
    fn each_then_runs_one_call_per_item_after_the_first_exchange() {
        let list = single(get("/list"), |r: Response| {
            serde_json::from_slice::<Vec<String>>(r.body())
                .map_err(|e| CartError::malformed(e.to_string()))
        });
        let exchange = then(list, |keys| {
            Ok(each(
                keys,
                |k: &String| get(&format!("/detail/{k}")),
                |k, r: Response| Ok(format!("{k}={}", String::from_utf8_lossy(r.body()))),
            ))
        });
        let mut paths = Vec::new();
        let out = drive(exchange, |r| {
            paths.push(r.uri().path().to_string());
            Ok(match r.uri().path() {
                "/list" => ok(r#"["a","b"]"#),
                p => ok(&p.len().to_string()),
            })
        })
        .unwrap();
        assert_eq!(paths, ["/list", "/detail/a", "/detail/b"]);
        assert_eq!(out, ["a=9", "b=9"]);
    }

    #[test]
    fn a_key_listed_twice_is_read_once() {
        let list = ready(vec!["a".to_string(), "b".to_string(), "a".to_string()]);
        let mut paths = Vec::new();
        let out = drive(
            each_listed(
                list,
                |k: &String| get(&format!("/{k}")),
                |k, _| Ok(k.clone()),
            ),
            |r| {
                paths.push(r.uri().path().to_string());
                Ok(ok(""))
            },
        )
        .unwrap();
        assert_eq!(out, ["a", "b"]);
        assert_eq!(paths, ["/a", "/b"]);
    }

    #[test]
    fn then_with_nothing_to_do_finishes_without_a_call() {
        let exchange = then(ready(Vec::<String>::new()), |keys| {
            Ok(each(keys, |k: &String| get(k), |_, _| Ok(())))
        });
        let out = drive(exchange, |_| panic!("no call expected")).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn a_response_before_any_request_is_refused() {
        let mut s = single(get("/x"), |_| Ok(()));
        assert!(s.step(Some(ok(""))).is_err());
    }
}
