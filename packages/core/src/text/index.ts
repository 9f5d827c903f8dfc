export * from './tokenizer';
export * from './textFeeds';
export * from './wordEmbedding';
export * from './explainText';
export * from './generation';
