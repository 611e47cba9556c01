/**
 * The channel-layer contract on both Redis layers, against a real redis-server started on a
 * free port for this file.
 */
import { afterAll, beforeAll } from 'vitest'
import { RedisChannelLayer } from '../../../../src/framework/layers/redis/core.js'
import { RedisPubSubChannelLayer } from '../../../../src/framework/layers/redis/pubsub.js'
import { startRedis, type RedisServer } from '../../../helpers/redis-server.js'
import { runLayerContract } from '../contract.js'

let redis: RedisServer

beforeAll(async () => {
  redis = await startRedis()
})

afterAll(async () => {
  await redis.stop()
})

runLayerContract(
  'RedisChannelLayer',
  ({ capacity }) => new RedisChannelLayer({ hosts: [redis.url], capacity }),
)

runLayerContract(
  'RedisPubSubChannelLayer',
  () => new RedisPubSubChannelLayer({ hosts: [redis.url] }),
  { delivery: 'subscribers' },
)
