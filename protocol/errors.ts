/** Wire errors. MalformedMessage is shared with the store's codecs (collections' metadata). */
export { MalformedMessage } from '../store/codec/errors.js'
