//! An event store that snapshots an aggregate every N events, for groups.
//!
//! cqrs-es 0.5's own snapshot store applies a command's events to the snapshot a second time
//! (its `EventSink` has already applied them while the command was handled), which corrupts any
//! state that counts, such as an aggregate's version. This store snapshots the aggregate exactly
//! as the command left it, and is otherwise a thin layer over the store crates' repositories.

use cqrs_es::persist::{
    EventStoreAggregateContext, PersistedEventRepository, PersistenceError, SerializedEvent,
};
use cqrs_es::{Aggregate, AggregateError, EventEnvelope, EventStore};
use std::collections::HashMap;
use std::marker::PhantomData;

pub struct SnapshotStore<R, A> {
    repo: R,
    every: usize,
    _aggregate: PhantomData<A>,
}

impl<R, A> SnapshotStore<R, A> {
    pub fn new(repo: R, every: usize) -> Self {
        Self {
            repo,
            every: every.max(1),
            _aggregate: PhantomData,
        }
    }
}

fn decode<A: Aggregate>(
    events: Vec<SerializedEvent>,
) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
    events
        .into_iter()
        .map(|event| EventEnvelope::try_from(event).map_err(AggregateError::from))
        .collect()
}

impl<R, A> EventStore<A> for SnapshotStore<R, A>
where
    R: PersistedEventRepository,
    A: Aggregate,
{
    type AC = EventStoreAggregateContext<A>;

    async fn load_events(
        &self,
        aggregate_id: &str,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        decode(self.repo.get_events::<A>(aggregate_id).await?)
    }

    async fn load_aggregate(
        &self,
        aggregate_id: &str,
    ) -> Result<Self::AC, AggregateError<A::Error>> {
        let mut context = match self.repo.get_snapshot::<A>(aggregate_id).await? {
            Some(snapshot) => EventStoreAggregateContext {
                aggregate_id: aggregate_id.to_string(),
                aggregate: serde_json::from_value(snapshot.aggregate)
                    .map_err(|error| AggregateError::from(PersistenceError::from(error)))?,
                current_sequence: snapshot.current_sequence,
                current_snapshot: Some(snapshot.current_snapshot),
            },
            None => EventStoreAggregateContext {
                aggregate_id: aggregate_id.to_string(),
                aggregate: A::default(),
                current_sequence: 0,
                current_snapshot: None,
            },
        };
        let later = self
            .repo
            .get_last_events::<A>(aggregate_id, context.current_sequence)
            .await?;
        for envelope in decode::<A>(later)? {
            context.current_sequence = envelope.sequence;
            context.aggregate.apply(envelope.payload);
        }
        Ok(context)
    }

    async fn commit(
        &self,
        events: Vec<A::Event>,
        context: Self::AC,
        metadata: HashMap<String, String>,
    ) -> Result<Vec<EventEnvelope<A>>, AggregateError<A::Error>> {
        let envelopes: Vec<EventEnvelope<A>> = events
            .into_iter()
            .zip(context.current_sequence + 1..)
            .map(|(payload, sequence)| EventEnvelope {
                aggregate_id: context.aggregate_id.clone(),
                sequence,
                payload,
                metadata: metadata.clone(),
            })
            .collect();
        let serialized = envelopes
            .iter()
            .map(|envelope| SerializedEvent::try_from(envelope).map_err(AggregateError::from))
            .collect::<Result<Vec<_>, _>>()?;
        let reached = context.current_sequence + envelopes.len();
        // The context's aggregate already has these events applied: snapshot it as it is.
        let snapshot = if reached / self.every > context.current_sequence / self.every {
            let state = serde_json::to_value(&context.aggregate)
                .map_err(|error| AggregateError::from(PersistenceError::from(error)))?;
            let number = context.current_snapshot.map_or(1, |number| number + 1);
            Some((context.aggregate_id.clone(), state, number))
        } else {
            None
        };
        self.repo.persist::<A>(&serialized, snapshot).await?;
        Ok(envelopes)
    }
}
