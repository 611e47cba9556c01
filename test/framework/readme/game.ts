// README's "Consumers and routing" example, verbatim below this comment (readme.test.ts checks README shows it).
import { AsyncJsonWebsocketConsumer } from 'channels-ts'

export interface Move {
  x: number
  y: number
}

export class GameConsumer extends AsyncJsonWebsocketConsumer<Move, { accepted: boolean }> {
  // Runs on each decoded frame before receiveJson; a schema library's parse fits here (zod's
  // Move.parse, valibot's parse). What throws goes to onDecodeError.
  override validateJson(content: unknown): Move {
    if (typeof content === 'object' && content !== null && 'x' in content && 'y' in content) {
      const { x, y } = content
      if (typeof x === 'number' && typeof y === 'number') return { x, y }
    }
    throw new TypeError('expected {"x": number, "y": number}')
  }

  override async receiveJson(move: Move) {
    await this.sendJson({ accepted: move.x >= 0 && move.y >= 0 })
  }
}
